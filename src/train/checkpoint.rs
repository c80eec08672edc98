//! Checkpoints: a directory (native) with
//! - `model.safetensors`: the model (config, class names, mean/std in `__metadata__`), loadable by
//!   every other command;
//! - `optim.safetensors`: the optimiser moments, `m/<key>` and (AdamW) `v/<key>`;
//! - `state.json`: the [`TrainState`] (run config, step, schedule, [`crate::data::ShufflerState`]).
//!
//! `best.safetensors` is the model of the best epoch on the validation split (runs without one
//! keep none: the test split chooses nothing). Files are written to a temporary
//! name and renamed, so an interrupted save never leaves a half-written checkpoint.
//!
//! The same files' bytes ([`model_bytes`], [`optim_bytes`], [`restore_parts`]) are what the page's
//! training worker keeps in IndexedDB, so a run saved there resumes the way `--resume` does.

use std::collections::BTreeMap;
#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

use super::trainer::{TrainState, Trainer};
use crate::budget::limits;
#[cfg(not(target_arch = "wasm32"))]
use crate::budget::read_file_capped;
use crate::error::{Error, Result};
use crate::grad::{Array, ParamSet};
#[cfg(not(target_arch = "wasm32"))]
use crate::model::io::{load_model_file, read_file};
use crate::model::io::{read_safetensors, write_model, write_tensors};
use crate::model::Model;
use crate::tensor::Tensor;

pub const MODEL_FILE: &str = "model.safetensors";
pub const BEST_FILE: &str = "best.safetensors";
pub const OPTIM_FILE: &str = "optim.safetensors";
pub const STATE_FILE: &str = "state.json";

#[cfg(not(target_arch = "wasm32"))]
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(tmp.display().to_string(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path.display().to_string(), e))
}

/// The model file's bytes: config plus `class_names`, `mean`, `std` and training notes.
pub fn model_bytes(t: &Trainer) -> Result<Vec<u8>> {
    let model = t.model();
    let mut meta = BTreeMap::new();
    let names: Vec<String> = (0..model.config.classes)
        .map(|i| model.config.class_name(i))
        .collect();
    meta.insert("class_names".to_string(), js(&names));
    meta.insert("mean".to_string(), js(&model.config.mean));
    meta.insert("std".to_string(), js(&model.config.std));
    meta.insert("trained_steps".to_string(), t.state.step.to_string());
    write_model(&model, &meta)
}

fn js<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The optimiser moments as safetensors: `m/<key>` and (AdamW) `v/<key>`.
pub fn optim_bytes(t: &Trainer) -> Result<Vec<u8>> {
    let mut moments = BTreeMap::new();
    for (prefix, set) in [("m/", &t.opt.m), ("v/", &t.opt.v)] {
        for (k, a) in &set.tensors {
            moments.insert(
                format!("{prefix}{k}"),
                Tensor {
                    shape: a.shape.clone(),
                    data: a.data.clone(),
                },
            );
        }
    }
    write_tensors(&moments, &BTreeMap::new())
}

/// Writes the checkpoint into `dir` (created if needed); with `best`, also `best.safetensors`.
#[cfg(not(target_arch = "wasm32"))]
pub fn save(dir: &Path, t: &Trainer, best: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let model = model_bytes(t)?;
    let optim = optim_bytes(t)?;
    let state = serde_json::to_vec_pretty(&t.state)
        .map_err(|e| Error::Format(format!("cannot write the training state: {e}")))?;
    write_atomic(&dir.join(OPTIM_FILE), &optim)?;
    write_atomic(&dir.join(MODEL_FILE), &model)?;
    if best {
        write_atomic(&dir.join(BEST_FILE), &model)?;
    }
    write_atomic(&dir.join(STATE_FILE), &state)
}

/// Largest `state.json` read (a real one is about 1 KB).
#[cfg(not(target_arch = "wasm32"))]
const MAX_STATE_FILE: u64 = 1 << 20;

/// Restores a run saved by [`save`]; it continues exactly where it stopped. Every file is read
/// within the library's limits, and the saved state is checked before anything is sized by it.
#[cfg(not(target_arch = "wasm32"))]
pub fn load(dir: &Path) -> Result<Trainer> {
    let mp = dir.join(MODEL_FILE);
    let model = load_model_file(&mp, None)?.model;
    let sp = dir.join(STATE_FILE);
    let sname = sp.display().to_string();
    let state: TrainState = serde_json::from_slice(&read_file_capped(
        &sp,
        MAX_STATE_FILE,
        "training state",
        |_| Ok(()),
    )?)
    .map_err(|e| Error::Format(format!("{sname}: {e}")))?;
    let op = dir.join(OPTIM_FILE);
    restore_parts(
        model,
        state,
        &read_file(&op)?,
        &sname,
        &op.display().to_string(),
    )
}

/// A run from its parts: the model, the saved state (checked before anything is sized by it)
/// and the optimiser file's bytes. `sname` and `oname` name the state and optimiser files in
/// errors.
pub fn restore_parts(
    model: Model,
    state: TrainState,
    optim: &[u8],
    sname: &str,
    oname: &str,
) -> Result<Trainer> {
    if state.shuffler.len as u64 > limits::SHUFFLE_ITEMS || state.shuffler.len == 0 {
        return Err(Error::Format(format!(
            "{sname}: the saved data order is for {} items; a run has between 1 and {} (edited \
             or corrupt file?)",
            state.shuffler.len,
            limits::SHUFFLE_ITEMS
        )));
    }
    let f = read_safetensors(optim, oname)?;
    let empty = || ParamSet::<f32> {
        tensors: BTreeMap::new(),
    };
    let (mut m, mut v) = (empty(), empty());
    for (k, t) in f.tensors {
        let a = Array {
            shape: t.shape,
            data: t.data,
        };
        if let Some(key) = k.strip_prefix("m/") {
            m.tensors.insert(key.to_string(), a);
        } else if let Some(key) = k.strip_prefix("v/") {
            v.tensors.insert(key.to_string(), a);
        } else {
            return Err(Error::Format(format!("{oname}: unexpected tensor `{k}`")));
        }
    }
    Trainer::restore(model.config, &model.params, state, m, v).map_err(|e| e.in_file(sname))
}
