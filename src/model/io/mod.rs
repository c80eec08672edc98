//! Reading and writing weights: safetensors, PyTorch `torch.save` checkpoints.
//!
//! Everything works on byte slices (the page hands us a file's bytes); only [`read_file`] touches
//! the file system, and it does not exist on wasm32.
//!
//! - [`safetensors`]: read f32/f16/bf16, write f32 with the config in `__metadata__`.
//! - [`pickle`] + [`pth`]: `torch.save` zip checkpoints through a restricted unpickler that never
//!   runs code.
//! - [`infer`]: the config from shapes, metadata and `--heads`, with notes on what was assumed.

pub mod infer;
pub mod pickle;
pub mod pth;
pub mod safetensors;

use std::collections::BTreeMap;

pub use infer::{infer_config, split_patch_len};
pub use pth::{is_zip, read_pth, read_pth_with};
pub use safetensors::{
    read_safetensors, read_safetensors_with, write_model, write_tensors, SafetensorsFile,
    CONFIG_KEY,
};

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::model::{Model, Params};

/// A model read from a file, with notes on what its config assumed and the file's format.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub model: Model,
    pub notes: Vec<String>,
    /// `"safetensors"` or `"pytorch"`.
    pub format: &'static str,
}

/// True when `bytes` plausibly start a safetensors file: a little-endian header length that
/// fits the file, then a JSON object.
fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 10 && bytes[8] == b'{'
}

/// Whether the first bytes of a file can start a weight file [`load_model`] reads; an error
/// naming the file otherwise (used to refuse `/dev/zero` and the like before reading them).
pub fn sniff_weights(head: &[u8], name: &str) -> Result<()> {
    let st = head.len() >= 9 && head[8] == b'{';
    if head.starts_with(b"PK") || st || head.first() == Some(&0x80) || head.len() < 9 {
        Ok(())
    } else {
        Err(unknown_format(name, head, None))
    }
}

fn unknown_format(name: &str, head: &[u8], len: Option<usize>) -> Error {
    Error::Format(format!(
        "{name}: neither a safetensors file nor a PyTorch checkpoint (zip) ({}starting {:02x?})",
        len.map_or(String::new(), |n| format!("{n} bytes, ")),
        &head[..head.len().min(8)]
    ))
}

/// Loads a model from the bytes of a safetensors file or a PyTorch checkpoint (sniffed by
/// content, not by extension). `name` (the file name) appears in error messages; `heads`
/// overrides the head count (PyTorch checkpoints do not record it). Memory is bounded by
/// [`Budget::loading`].
pub fn load_model(bytes: &[u8], name: &str, heads: Option<usize>) -> Result<LoadedModel> {
    load_model_with(bytes, name, heads, &mut Budget::loading(name))
}

/// [`load_model`] within `budget`. Every error names the file.
pub fn load_model_with(
    bytes: &[u8],
    name: &str,
    heads: Option<usize>,
    budget: &mut Budget,
) -> Result<LoadedModel> {
    load_inner(bytes, name, heads, budget).map_err(|e| e.in_file(name))
}

fn load_inner(
    bytes: &[u8],
    name: &str,
    heads: Option<usize>,
    budget: &mut Budget,
) -> Result<LoadedModel> {
    let (tensors, meta, format) = if is_zip(bytes) {
        (read_pth_with(bytes, name, budget)?, None, "pytorch")
    } else if looks_like_safetensors(bytes) {
        let f = read_safetensors_with(bytes, name, budget)?;
        let meta = f
            .config()
            .map_err(|e| Error::Format(format!("{name}: {e}")))?;
        (f.tensors, meta, "safetensors")
    } else if bytes.first() == Some(&0x80) {
        // Legacy torch.save; read_pth explains.
        (read_pth_with(bytes, name, budget)?, None, "pytorch")
    } else {
        return Err(unknown_format(name, bytes, Some(bytes.len())));
    };
    let (config, notes) = infer_config(&tensors, meta, heads)?;
    let model = Model::new(config, Params { tensors })?;
    Ok(LoadedModel {
        model,
        notes,
        format,
    })
}

/// The model as a float32 safetensors file with its config in `__metadata__`.
pub fn model_to_safetensors(model: &Model) -> Result<Vec<u8>> {
    write_model(model, &BTreeMap::new())
}

/// Reads a weight file (native only; the page passes bytes): at most
/// [`crate::budget::limits::MODEL_FILE`] bytes, and nothing past the first bytes of a file that
/// is not a weight file.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_file(path: impl AsRef<std::path::Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let name = path.display().to_string();
    crate::budget::read_file_capped(
        path,
        crate::budget::limits::MODEL_FILE,
        "weight file",
        |head| sniff_weights(head, &name),
    )
}

/// Reads a weight file with [`read_file`] and loads it with [`load_model`] (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn load_model_file(
    path: impl AsRef<std::path::Path>,
    heads: Option<usize>,
) -> Result<LoadedModel> {
    let path = path.as_ref();
    load_model(&read_file(path)?, &path.display().to_string(), heads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::init_params;
    use crate::model::CrateConfig;

    fn model() -> Model {
        let cfg = CrateConfig::preset("crate-fmnist").unwrap();
        let p = init_params(&cfg, 7).unwrap();
        Model::new(cfg, p).unwrap()
    }

    #[test]
    fn model_round_trip_keeps_config_and_values() {
        let m = model();
        let bytes = model_to_safetensors(&m).unwrap();
        let l = load_model(&bytes, "m.safetensors", None).unwrap();
        assert_eq!(l.format, "safetensors");
        assert_eq!(l.model, m);
        assert!(l.notes.is_empty(), "{:?}", l.notes);
        let f = read_safetensors(&bytes, "m").unwrap();
        let json: serde_json::Value = serde_json::from_str(&f.metadata[CONFIG_KEY]).unwrap();
        for field in [
            "dim",
            "depth",
            "heads",
            "patch",
            "image",
            "channels",
            "classes",
            "eta",
            "lambda",
            "mean",
            "std",
            "class_names",
        ] {
            assert!(json.get(field).is_some(), "config lacks {field}: {json}");
        }
    }

    #[test]
    fn extra_metadata_is_kept_and_config_reserved() {
        let m = model();
        let mut extra = BTreeMap::new();
        extra.insert("trained_epochs".to_string(), "3".to_string());
        let bytes = write_model(&m, &extra).unwrap();
        let f = read_safetensors(&bytes, "m").unwrap();
        assert_eq!(f.metadata["trained_epochs"], "3");
        assert_eq!(f.config().unwrap().unwrap(), m.config);
        extra.insert(CONFIG_KEY.to_string(), "x".to_string());
        assert!(write_model(&m, &extra).is_err());
    }

    #[test]
    fn wrong_shape_missing_and_unexpected_keys() {
        let m = model();
        let k = "transformer.layers.1.1.fn.weight";
        let mut t = m.params.tensors.clone();
        t.insert(k.to_string(), crate::tensor::Tensor::zeros(&[128, 64]));
        let bytes = write_tensors(&t, &BTreeMap::new()).unwrap();
        let e = load_model(&bytes, "w", None).unwrap_err().to_string();
        assert!(
            e.contains(k) && e.contains("[128, 64]") && e.contains("[128, 128]"),
            "{e}"
        );

        let mut t = m.params.tensors.clone();
        t.remove("mlp_head.0.bias");
        let bytes = write_tensors(&t, &BTreeMap::new()).unwrap();
        let e = load_model(&bytes, "w", None).unwrap_err();
        assert!(
            matches!(e.root(), Error::MissingKey(k) if k == "mlp_head.0.bias"),
            "{e}"
        );
        assert!(e.to_string().starts_with("w: missing parameter"), "{e}");

        let mut t = m.params.tensors.clone();
        t.insert("extra.weight".into(), crate::tensor::Tensor::zeros(&[2]));
        let bytes = write_tensors(&t, &BTreeMap::new()).unwrap();
        let e = load_model(&bytes, "w", None).unwrap_err();
        assert!(
            matches!(e.root(), Error::UnexpectedKey(k) if k == "extra.weight"),
            "{e}"
        );
        assert!(e.to_string().starts_with("w: unexpected parameter"), "{e}");
    }

    #[test]
    fn unknown_format_names_the_file() {
        let e = load_model(b"hello world, not weights", "notes.txt", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("notes.txt: neither"), "{e}");
        let e = load_model(b"", "empty.bin", None).unwrap_err().to_string();
        assert!(e.contains("empty.bin"), "{e}");
    }
}
