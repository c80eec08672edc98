//! Where a run's weights come from when it continues the model in use instead of a fresh
//! preset: the model's own shape and weights; a new head (seeded) when the data has another
//! number of classes, the trunk kept.

use crate::error::{Error, Result};
use crate::model::{init::init_params, CrateConfig, Model, Params};

/// The classification head's tensors (`mlp_head.*`, and `head.*` where a model has an extra
/// projection before it): the only part that depends on the number of classes.
pub fn is_head(key: &str) -> bool {
    key.starts_with("mlp_head.") || key.starts_with("head.")
}

/// The weights to start from: `model`'s, fitted to `cfg` (the model's shape fitted to the
/// data by the dataset). The input must match; a different class count gets a head
/// initialised from `seed`. Also returns a sentence saying what was kept.
pub fn continued_params(
    model: &Model,
    name: &str,
    cfg: &CrateConfig,
    seed: u64,
) -> Result<(Params, String)> {
    let m = &model.config;
    if cfg.image != m.image || cfg.channels != m.channels || cfg.patch != m.patch {
        return Err(Error::Config(format!(
            "{name} takes {}×{} images with {} channel(s) in {}-pixel patches; this dataset \
             needs {}×{} × {} in {}-pixel patches: it cannot continue on it (choose a fresh model)",
            m.image[0],
            m.image[1],
            m.channels,
            m.patch,
            cfg.image[0],
            cfg.image[1],
            cfg.channels,
            cfg.patch
        )));
    }
    if cfg.classes == m.classes {
        model.params.validate(cfg)?;
        return Ok((
            model.params.clone(),
            format!(
                "continues {name}: every weight kept ({} classes)",
                cfg.classes
            ),
        ));
    }
    let fresh = init_params(cfg, seed)?;
    let mut params = Params::default();
    let mut reset = Vec::new();
    for (key, t) in fresh.tensors {
        if is_head(&key) {
            reset.push(key.clone());
            params.tensors.insert(key, t);
        } else {
            let kept = model.params.tensors.get(&key).ok_or_else(|| {
                Error::Config(format!("{name} has no tensor `{key}` to continue from"))
            })?;
            params.tensors.insert(key, kept.clone());
        }
    }
    params.validate(cfg)?;
    Ok((
        params,
        format!(
            "new head for {} classes (the model had {}): the trunk of {name} kept, {} \
             re-initialised with seed {seed}",
            cfg.classes,
            m.classes,
            reset.join(", ")
        ),
    ))
}
