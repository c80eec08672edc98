//! The choices the page makes when a model or an image arrives: which bundled model and which
//! gallery sample to open with, the input size and fit a model gets, the layer and head that
//! stay valid under a new model, whether a file is a model or an image, and when to ask for a
//! checkpoint's head count.

use crate::data::image::Resize;
use crate::model::CrateConfig;

/// The model the page opens with (web/models/).
pub const DEFAULT_MODEL: &str = "crate-fmnist";

/// The largest image file the page reads (a photo, not a dataset).
pub const MAX_IMAGE_FILE_BYTES: f64 = (64u64 << 20) as f64;

/// A gallery entry (web/samples/samples.json).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Sample {
    pub file: String,
    pub label: String,
    pub kind: String,
    pub credit: String,
    /// The object's true mask (same size, non-zero = object), when known: the page scores the
    /// attention against it as `segment --pairs` does.
    #[serde(default)]
    pub mask: Option<String>,
}

/// A model bundled with the page (web/models/index.json).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Bundled {
    /// The file stem: web/models/NAME.safetensors and NAME.json.
    pub name: String,
    /// What to call it in the model list.
    pub title: String,
}

/// The model on show.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub format: String,
    pub config: CrateConfig,
    pub parameters: usize,
    /// What loading assumed (head count, …).
    pub notes: Vec<String>,
    /// The model card (web/models/NAME.json), for bundled models.
    pub card: Option<serde_json::Value>,
}

impl ModelInfo {
    /// True when loading guessed the head count (the checkpoint does not record it), so the
    /// page offers to correct it.
    pub fn heads_assumed(&self) -> bool {
        heads_assumed(&self.notes)
    }
}

/// True when the loader's notes say the head count was assumed.
pub fn heads_assumed(notes: &[String]) -> bool {
    notes.iter().any(|n| n.starts_with("heads: assumed"))
}

/// The bundled models from web/models/index.json; when it is missing or unreadable, the
/// default model alone.
pub fn bundled_models(index_json: Option<&str>) -> Vec<Bundled> {
    index_json
        .and_then(|t| serde_json::from_str::<Vec<Bundled>>(t).ok())
        .unwrap_or_else(|| {
            vec![Bundled {
                name: DEFAULT_MODEL.into(),
                title: DEFAULT_MODEL.into(),
            }]
        })
}

/// The bundled model to open: the one the URL names if it is bundled, else the first.
pub fn opening_model(want: Option<&str>, bundled: &[Bundled]) -> String {
    want.filter(|w| bundled.iter().any(|b| b.name == *w))
        .or_else(|| bundled.first().map(|b| b.name.as_str()))
        .unwrap_or(DEFAULT_MODEL)
        .to_string()
}

/// The gallery sample to open: the one the URL names if it is there, else the first.
pub fn opening_sample(want: Option<&str>, samples: &[Sample]) -> Option<Sample> {
    want.and_then(|w| samples.iter().find(|s| s.file == w))
        .or_else(|| samples.first())
        .cloned()
}

/// The model input size for a chosen square side (0: the model's own size).
pub fn input_size(cfg: &CrateConfig, side: usize) -> [usize; 2] {
    if side == 0 {
        cfg.image
    } else {
        [side, side]
    }
}

/// How images are fitted to a newly loaded model: small models (Fashion-MNIST-like, up to 64
/// pixels, such as the shapes model) see the whole image stretched; ImageNet models a resize and
/// centre crop.
pub fn default_fit(cfg: &CrateConfig) -> Resize {
    if cfg.image[0] <= 64 {
        Resize::Stretch
    } else {
        Resize::Imagenet
    }
}

/// Square input sides worth offering: multiples of the patch from half to twice the model's size.
pub fn input_sides(image: usize, patch: usize) -> Vec<usize> {
    let patch = patch.max(1);
    let mut v: Vec<usize> = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
        .iter()
        .map(|f| ((image as f64 * f / patch as f64).round() as usize).max(1) * patch)
        .collect();
    v.dedup();
    v
}

/// The layer on show under a model of `depth` layers (`usize::MAX` or any layer past the end:
/// the last layer).
pub fn layer_on_show(layer: usize, depth: usize) -> usize {
    layer.min(depth.saturating_sub(1))
}

/// The layer for the URL: none when it is the default (past the end).
pub fn layer_in_url(layer: usize, depth: usize) -> Option<usize> {
    (layer < depth).then_some(layer)
}

/// The head on show under a model of `heads` heads: a head past the end falls back to the mean.
pub fn head_on_show(head: Option<usize>, heads: usize) -> Option<usize> {
    head.filter(|&h| h < heads)
}

/// Model files go to the model loader, anything else to the image analyser.
pub fn is_model_file(name: &str) -> bool {
    let n = name.to_lowercase();
    [".safetensors", ".pth", ".pt", ".tar", ".bin", ".ckpt"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// The name a file is shown by (a pasted image has none).
pub fn file_label(name: &str) -> String {
    if name.is_empty() {
        "pasted image".into()
    } else {
        name.to_string()
    }
}

/// Refuses an image file too large to be a picture, before reading it.
pub fn check_image_file_size(name: &str, bytes: f64) -> Result<(), String> {
    if bytes > MAX_IMAGE_FILE_BYTES {
        Err(format!(
            "{name}: {:.0} MB is too large for an image (the limit is 64 MB)",
            bytes / (1u64 << 20) as f64
        ))
    } else {
        Ok(())
    }
}

/// When loading failed because the checkpoint does not say how many heads it has, the prompt
/// asking for them (the loader's message, worded for the page); `None` for any other failure.
pub fn heads_prompt(load_error: &str) -> Option<String> {
    load_error
        .contains("--heads")
        .then(|| load_error.replace("pass --heads", "enter the head count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(file: &str) -> Sample {
        Sample {
            file: file.into(),
            label: file.into(),
            kind: "photo".into(),
            credit: String::new(),
            mask: None,
        }
    }

    fn bundled(names: &[&str]) -> Vec<Bundled> {
        names
            .iter()
            .map(|n| Bundled {
                name: n.to_string(),
                title: n.to_uppercase(),
            })
            .collect()
    }

    #[test]
    fn the_model_index_falls_back_to_the_default_model() {
        let one = vec![Bundled {
            name: DEFAULT_MODEL.into(),
            title: DEFAULT_MODEL.into(),
        }];
        assert_eq!(bundled_models(None), one);
        assert_eq!(bundled_models(Some("not json")), one);
        assert_eq!(bundled_models(Some(r#"{"name": "x"}"#)), one);
        assert_eq!(
            bundled_models(Some(r#"[{"name": "a", "title": "A"}]"#)),
            bundled(&["a"])
        );
    }

    #[test]
    fn the_url_picks_a_bundled_model_only_if_it_is_bundled() {
        let b = bundled(&["crate-fmnist", "crate-t"]);
        assert_eq!(opening_model(Some("crate-t"), &b), "crate-t");
        assert_eq!(opening_model(Some("../secret"), &b), "crate-fmnist");
        assert_eq!(opening_model(None, &b), "crate-fmnist");
        assert_eq!(opening_model(Some("crate-t"), &[]), DEFAULT_MODEL);
    }

    #[test]
    fn the_url_picks_a_sample_if_it_is_in_the_gallery() {
        let g = vec![sample("a.jpg"), sample("b.png")];
        assert_eq!(opening_sample(Some("b.png"), &g), Some(sample("b.png")));
        assert_eq!(opening_sample(Some("zzz"), &g), Some(sample("a.jpg")));
        assert_eq!(opening_sample(None, &g), Some(sample("a.jpg")));
        assert_eq!(opening_sample(Some("a.jpg"), &[]), None);
    }

    #[test]
    fn input_size_and_fit_follow_the_model() {
        let fm = CrateConfig::preset("crate-fmnist").unwrap();
        let t = CrateConfig::preset("crate-t").unwrap();
        assert_eq!(input_size(&fm, 0), fm.image);
        assert_eq!(input_size(&t, 112), [112, 112]);
        assert_eq!(default_fit(&fm), Resize::Stretch);
        assert_eq!(default_fit(&t), Resize::Imagenet);
        // The shapes model sees its 64×64 gallery images whole (a crop would cut objects).
        let shapes = CrateConfig::preset("crate-shapes").unwrap();
        assert_eq!(default_fit(&shapes), Resize::Stretch);
    }

    #[test]
    fn offered_sides_are_patch_multiples() {
        assert_eq!(input_sides(224, 16), vec![112, 176, 224, 288, 336, 448]);
        assert_eq!(input_sides(28, 7), vec![14, 21, 28, 35, 42, 56]);
        // Rounding may repeat a side: offered once.
        assert_eq!(input_sides(4, 4), vec![4, 8]);
        assert!(input_sides(2, 0).iter().all(|&s| s > 0));
    }

    #[test]
    fn layer_and_head_stay_valid_under_a_new_model() {
        assert_eq!(layer_on_show(usize::MAX, 12), 11);
        assert_eq!(layer_on_show(3, 12), 3);
        assert_eq!(layer_on_show(9, 4), 3);
        assert_eq!(layer_on_show(0, 0), 0);
        assert_eq!(layer_in_url(usize::MAX, 12), None);
        assert_eq!(layer_in_url(11, 12), Some(11));
        assert_eq!(layer_in_url(0, 0), None);
        assert_eq!(head_on_show(Some(5), 6), Some(5));
        assert_eq!(head_on_show(Some(6), 6), None);
        assert_eq!(head_on_show(None, 6), None);
    }

    #[test]
    fn files_are_told_apart_by_extension() {
        for m in [
            "m.safetensors",
            "CRATE_T.PTH",
            "x.pth.tar",
            "a.pt",
            "w.bin",
            "c.ckpt",
        ] {
            assert!(is_model_file(m), "{m}");
        }
        for i in [
            "cat.jpg",
            "x.png",
            "safetensors",
            "model.safetensors.png",
            "",
        ] {
            assert!(!is_model_file(i), "{i}");
        }
    }

    #[test]
    fn image_files_over_64_mb_are_refused_by_name() {
        assert_eq!(check_image_file_size("a.png", MAX_IMAGE_FILE_BYTES), Ok(()));
        assert_eq!(
            check_image_file_size("big.tif", 100.0 * (1u64 << 20) as f64),
            Err("big.tif: 100 MB is too large for an image (the limit is 64 MB)".into())
        );
        assert_eq!(file_label(""), "pasted image");
        assert_eq!(file_label("x.png"), "x.png");
    }

    #[test]
    fn only_a_missing_head_count_opens_the_prompt() {
        assert_eq!(
            heads_prompt("m.pth: the checkpoint does not record the head count; pass --heads N"),
            Some(
                "m.pth: the checkpoint does not record the head count; enter the head count N"
                    .into()
            )
        );
        assert_eq!(heads_prompt("m.pth: truncated"), None);
        assert!(heads_assumed(&[
            "heads: assumed 6 from the crate-s preset".into()
        ]));
        assert!(!heads_assumed(&["dtype: f16".into()]));
    }
}
