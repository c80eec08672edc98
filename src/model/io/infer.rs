//! Working out a [`CrateConfig`] from a checkpoint's tensor shapes, the file's own metadata
//! (safetensors written by this crate carry it) and the user's `--heads`.
//!
//! Shapes fix d, P (hence patch p and channels C), depth, the token count (hence the image
//! size when the grid is square) and the classes. They cannot fix the head count (`qkv` is d×d
//! for any K), the ISTA constants or the input normalisation: those come from the metadata when
//! present, otherwise from the presets and official defaults, and every such assumption is
//! returned as a note for `whitebox info` to show.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::config::{CrateConfig, FMNIST_MEAN, FMNIST_STD, IMAGENET_MEAN, IMAGENET_STD};
use crate::tensor::Tensor;

fn isqrt_exact(x: usize) -> Option<usize> {
    let r = (x as f64).sqrt().round() as usize;
    (r.checked_mul(r) == Some(x)).then_some(r)
}

/// Channels and patch side from the patch vector length P = p·p·C: C = 3 when P/3 is a
/// perfect square, else C = 1 when P is one (3·s² is never a square, so this is unambiguous).
pub fn split_patch_len(p_len: usize) -> Option<(usize, usize)> {
    if p_len == 0 {
        return None;
    }
    if p_len.is_multiple_of(3) {
        if let Some(s) = isqrt_exact(p_len / 3) {
            return Some((3, s));
        }
    }
    isqrt_exact(p_len).map(|s| (1, s))
}

fn get<'a>(t: &'a BTreeMap<String, Tensor>, key: &str) -> Result<&'a Tensor> {
    t.get(key).ok_or_else(|| Error::MissingKey(key.to_string()))
}

fn rank(t: &Tensor, key: &str, r: usize, form: &str) -> Result<()> {
    if t.shape.len() != r || t.shape.contains(&0) {
        return Err(Error::Shape {
            key: key.to_string(),
            expected: form.to_string(),
            got: t.shape_str(),
        });
    }
    Ok(())
}

fn contradiction(
    what: &str,
    meta: impl std::fmt::Display,
    shapes: impl std::fmt::Display,
) -> Error {
    Error::Config(format!(
        "the file's metadata says {what} {meta} but its tensors say {shapes}"
    ))
}

/// Infers the config of the CRATE model whose parameters are `tensors` (official keys).
/// `metadata_config` is the config the file itself records, if any; `heads` is the user's
/// override. Returns the config and notes on everything that was assumed rather than read.
pub fn infer_config(
    tensors: &BTreeMap<String, Tensor>,
    metadata_config: Option<CrateConfig>,
    heads: Option<usize>,
) -> Result<(CrateConfig, Vec<String>)> {
    let mut notes = Vec::new();
    let meta = metadata_config.as_ref();

    // d and P
    let key = "to_patch_embedding.2.weight";
    let emb = get(tensors, key)?;
    rank(emb, key, 2, "[dim, patch_len]")?;
    let (dim, p_len) = (emb.shape[0], emb.shape[1]);
    if let Some(m) = meta {
        if m.dim != dim {
            return Err(contradiction("dim", m.dim, dim));
        }
    }
    let (channels, patch) = match meta {
        Some(m)
            if m.patch
                .checked_mul(m.patch)
                .and_then(|x| x.checked_mul(m.channels))
                == Some(p_len) =>
        {
            (m.channels, m.patch)
        }
        Some(m) => {
            return Err(contradiction(
                "patch size and channels",
                format!("{}, {}", m.patch, m.channels),
                format!("a patch vector length of {p_len}"),
            ))
        }
        None => split_patch_len(p_len).ok_or_else(|| {
            Error::Config(format!(
                "patch vector length {p_len} (from `{key}`) is neither p·p (grayscale) nor \
                 3·p·p (RGB)"
            ))
        })?,
    };

    // depth: layers 0..L-1, all present
    let mut layers = std::collections::BTreeSet::new();
    for k in tensors.keys() {
        if let Some(rest) = k.strip_prefix("transformer.layers.") {
            if let Some(l) = rest.split('.').next().and_then(|s| s.parse::<usize>().ok()) {
                layers.insert(l);
            }
        }
    }
    let depth = match layers.last() {
        None => {
            return Err(Error::MissingKey(
                "transformer.layers.0.0.norm.weight".into(),
            ))
        }
        Some(&max) => {
            if let Some(gap) = (0..max).find(|l| !layers.contains(l)) {
                return Err(Error::Config(format!(
                    "layer {max} is present but layer {gap} is missing (keys \
                     `transformer.layers.{gap}.*`)"
                )));
            }
            max + 1
        }
    };
    if let Some(m) = meta {
        if m.depth != depth {
            return Err(contradiction("depth", m.depth, depth));
        }
    }

    // tokens → image
    let key = "pos_embedding";
    let pos = get(tensors, key)?;
    rank(pos, key, 3, "[1, tokens, dim]")?;
    if pos.shape[0] != 1 || pos.shape[2] != dim || pos.shape[1] < 2 {
        return Err(Error::Shape {
            key: key.to_string(),
            expected: format!("[1, tokens, {dim}]"),
            got: pos.shape_str(),
        });
    }
    let n = pos.shape[1] - 1;
    let image = match meta {
        Some(m) => {
            let ok = m.image[0] % patch == 0
                && m.image[1] % patch == 0
                && (m.image[0] / patch).checked_mul(m.image[1] / patch) == Some(n);
            if !ok {
                return Err(contradiction(
                    "image size",
                    format!("{}x{}", m.image[0], m.image[1]),
                    format!("{n} patches of {patch}x{patch}"),
                ));
            }
            m.image
        }
        None => {
            let g = isqrt_exact(n).ok_or_else(|| {
                Error::Config(format!(
                    "`pos_embedding` has {n} patch positions, not a square grid, and the file \
                     does not record the image size"
                ))
            })?;
            let side = g.checked_mul(patch).ok_or_else(|| {
                Error::Config(format!("a grid of {g}x{g} patches of {patch} overflows"))
            })?;
            [side, side]
        }
    };

    // classes (and the segmentation demo's extra head)
    let h1 = "mlp_head.1.weight";
    let head1 = get(tensors, h1)?;
    rank(head1, h1, 2, "[classes, dim]")?;
    let (classes, pre_head_dim) = match tensors.get("head.weight") {
        Some(h) => {
            rank(h, "head.weight", 2, "[classes, pre_head_dim]")?;
            (h.shape[0], Some(head1.shape[0]))
        }
        None => (head1.shape[0], None),
    };
    if let Some(m) = meta {
        if m.classes != classes {
            return Err(contradiction("classes", m.classes, classes));
        }
    }

    // heads
    let heads = match (heads, meta) {
        (Some(h), Some(m)) => {
            if h != m.heads {
                notes.push(format!(
                    "heads: using {h} as asked (the file's metadata says {})",
                    m.heads
                ));
            }
            h
        }
        (Some(h), None) => h,
        (None, Some(m)) => m.heads,
        (None, None) => match CrateConfig::heads_for(dim, patch) {
            Some((h, preset)) => {
                notes.push(format!(
                    "heads: assumed {h} from the {preset} preset (checkpoint does not record \
                     heads; pass --heads to override)"
                ));
                h
            }
            None => {
                return Err(Error::Config(format!(
                    "the checkpoint does not record the number of heads and no preset has \
                     dim {dim} with patch {patch}; pass --heads"
                )))
            }
        },
    };
    if heads == 0 || dim % heads != 0 {
        return Err(Error::Config(format!(
            "{heads} heads do not divide dim {dim}"
        )));
    }

    // ISTA constants, normalisation, class names
    let (eta, lambda, mean, std, class_names) = match meta {
        Some(m) => (
            m.eta,
            m.lambda,
            m.mean.clone(),
            m.std.clone(),
            m.class_names.clone(),
        ),
        None => {
            notes.push(
                "eta, lambda: assumed 0.1 and 0.1, the official defaults (the checkpoint does \
                 not record them)"
                    .to_string(),
            );
            let (mean, std, what) = if channels == 3 {
                (IMAGENET_MEAN.to_vec(), IMAGENET_STD.to_vec(), "ImageNet")
            } else {
                (FMNIST_MEAN.to_vec(), FMNIST_STD.to_vec(), "Fashion-MNIST")
            };
            notes.push(format!(
                "mean/std: assumed the {what} statistics for {channels}-channel input (the \
                 checkpoint does not record its normalisation)"
            ));
            (0.1, 0.1, mean, std, None)
        }
    };
    let cfg = CrateConfig {
        dim,
        depth,
        heads,
        patch,
        image,
        channels,
        classes,
        eta,
        lambda,
        mean,
        std,
        class_names,
        pre_head_dim,
    };
    cfg.validate()?;
    Ok((cfg, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::init_params;

    fn params(cfg: &CrateConfig) -> BTreeMap<String, Tensor> {
        init_params(cfg, 1).unwrap().tensors
    }

    #[test]
    fn splits_patch_lengths() {
        assert_eq!(split_patch_len(768), Some((3, 16)));
        assert_eq!(split_patch_len(192), Some((3, 8)));
        assert_eq!(split_patch_len(16), Some((1, 4)));
        assert_eq!(split_patch_len(12), Some((3, 2)));
        assert_eq!(split_patch_len(10), None);
        assert_eq!(split_patch_len(0), None);
    }

    #[test]
    fn infers_presets_from_shapes() {
        for name in ["crate-fmnist", "crate-c32"] {
            let want = CrateConfig::preset(name).unwrap();
            let (got, notes) = infer_config(&params(&want), None, None).unwrap();
            assert_eq!(got.dim, want.dim);
            assert_eq!(got.depth, want.depth);
            assert_eq!(got.heads, want.heads);
            assert_eq!(got.patch, want.patch);
            assert_eq!(got.channels, want.channels);
            assert_eq!(got.image, want.image);
            assert_eq!(got.classes, want.classes);
            if name == "crate-fmnist" {
                assert_eq!(got.mean, want.mean);
            }
            assert!(
                notes.iter().any(|n| n.starts_with("heads: assumed")),
                "{notes:?}"
            );
            assert!(notes.iter().any(|n| n.contains("eta")), "{notes:?}");
        }
    }

    #[test]
    fn metadata_wins_and_explicit_heads_win_over_it() {
        let mut want = CrateConfig::preset("crate-fmnist").unwrap();
        want.heads = 8;
        want.eta = 0.2;
        let p = params(&want);
        let (got, notes) = infer_config(&p, Some(want.clone()), None).unwrap();
        assert_eq!(got, want);
        assert!(notes.is_empty(), "{notes:?}");
        let (got, notes) = infer_config(&p, Some(want.clone()), Some(2)).unwrap();
        assert_eq!(got.heads, 2);
        assert!(notes[0].contains("metadata says 8"), "{notes:?}");
    }

    #[test]
    fn unknown_width_needs_heads() {
        let mut c = CrateConfig::preset("crate-fmnist").unwrap();
        c.dim = 40;
        c.heads = 5;
        let p = params(&c);
        let e = infer_config(&p, None, None).unwrap_err().to_string();
        assert!(e.contains("--heads"), "{e}");
        let (got, _) = infer_config(&p, None, Some(5)).unwrap();
        assert_eq!(got.heads, 5);
        let e = infer_config(&p, None, Some(3)).unwrap_err().to_string();
        assert!(e.contains("do not divide"), "{e}");
    }

    #[test]
    fn demo_head_variant() {
        let mut c = CrateConfig::preset("crate-fmnist").unwrap();
        c.pre_head_dim = Some(32);
        c.classes = 7;
        c.class_names = None;
        let (got, _) = infer_config(&params(&c), None, None).unwrap();
        assert_eq!(got.pre_head_dim, Some(32));
        assert_eq!(got.classes, 7);
    }

    #[test]
    fn missing_layer_and_non_square_grid() {
        let c = CrateConfig::preset("crate-fmnist").unwrap();
        let mut p = params(&c);
        p.retain(|k, _| !k.starts_with("transformer.layers.2."));
        let e = infer_config(&p, None, None).unwrap_err().to_string();
        assert!(e.contains("layer 2 is missing"), "{e}");

        let mut c2 = c.clone();
        c2.image = [28, 56];
        let p = params(&c2);
        let e = infer_config(&p, None, None).unwrap_err().to_string();
        assert!(e.contains("not a square grid"), "{e}");
        let (got, _) = infer_config(&p, Some(c2.clone()), None).unwrap();
        assert_eq!(got.image, [28, 56]);
    }

    #[test]
    fn metadata_contradicting_shapes_is_an_error() {
        let c = CrateConfig::preset("crate-fmnist").unwrap();
        let mut m = c.clone();
        m.depth = 3;
        let e = infer_config(&params(&c), Some(m), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("depth 3") && e.contains("say 6"), "{e}");
    }
}
