//! safetensors files: read float32 / float16 / bfloat16 tensors (as f32), write float32 with
//! the model's [`CrateConfig`] as JSON under the `config` entry of `__metadata__`.
//!
//! Keys are read and written exactly as they are (the official PyTorch state-dict keys), so an
//! export loads in the official code with `load_state_dict(safetensors.torch.load_file(..))`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use half::{bf16, f16};
use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::budget::{checked_product, fmt_bytes, limits, Budget};
use crate::error::{Error, Result};
use crate::model::config::CrateConfig;
use crate::model::Model;
use crate::tensor::Tensor;

/// The `__metadata__` entry that holds the model config as JSON.
pub const CONFIG_KEY: &str = "config";

/// What a safetensors file holds: its tensors (as f32) and its `__metadata__` strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SafetensorsFile {
    pub tensors: BTreeMap<String, Tensor>,
    pub metadata: BTreeMap<String, String>,
}

impl SafetensorsFile {
    /// The config stored under `__metadata__["config"]`, if any. A present but unreadable
    /// config is an error, not silently ignored.
    pub fn config(&self) -> Result<Option<CrateConfig>> {
        match self.metadata.get(CONFIG_KEY) {
            None => Ok(None),
            Some(json) => serde_json::from_str(json).map(Some).map_err(|e| {
                Error::Format(format!(
                    "the `config` metadata entry is not a valid model config: {e}"
                ))
            }),
        }
    }
}

fn format_err(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::Format(format!("{name}: {msg}"))
}

/// Reads a safetensors file from bytes. `name` (the file name) is used in messages. Memory is
/// bounded by [`Budget::loading`].
pub fn read_safetensors(bytes: &[u8], name: &str) -> Result<SafetensorsFile> {
    read_safetensors_with(bytes, name, &mut Budget::loading(name))
}

/// [`read_safetensors`], charging the header and the float32 tensors to `budget`.
pub fn read_safetensors_with(
    bytes: &[u8],
    name: &str,
    budget: &mut Budget,
) -> Result<SafetensorsFile> {
    // Check the sizes first, so that a truncated file says so plainly.
    let Some(head) = bytes.get(..8) else {
        return Err(format_err(
            name,
            format!(
                "not a safetensors file: {} bytes, shorter than the 8-byte header length",
                bytes.len()
            ),
        ));
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(head);
    let header_len = u64::from_le_bytes(n);
    let after = (bytes.len() - 8) as u64;
    if header_len > after {
        return Err(format_err(
            name,
            format!(
                "truncated safetensors file: the header says it is {header_len} bytes long but \
                 only {after} bytes follow"
            ),
        ));
    }
    // Parsing a JSON header costs many times its size: bound it before parsing anything.
    if header_len > limits::SAFETENSORS_HEADER {
        return Err(Error::Budget(format!(
            "{name}: the safetensors header is {}, larger than the {} limit (a model's header \
             is a few KB)",
            fmt_bytes(header_len),
            fmt_bytes(limits::SAFETENSORS_HEADER)
        )));
    }
    // Parsed twice (our size check, then the safetensors crate), each at most ~16× its size.
    budget.charge(
        "parsing the safetensors header",
        header_len.saturating_mul(32),
    )?;
    // The header fits: compare the data its tensors claim with the bytes that follow it.
    let hlen = header_len as usize;
    let data_avail = bytes.len() - 8 - hlen;
    if let Some(data_need) = declared_data_len(&bytes[8..8 + hlen]) {
        if data_need > data_avail as u64 {
            return Err(format_err(
                name,
                format!(
                    "truncated safetensors file: its tensors need {data_need} bytes of data but \
                     only {data_avail} are present"
                ),
            ));
        }
    }
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format_err(name, format!("invalid safetensors header: {e}")))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format_err(name, format!("invalid safetensors file: {e}")))?;
    let mut tensors = BTreeMap::new();
    for (key, view) in st.iter() {
        let numel = checked_product(view.shape()).ok_or_else(|| {
            format_err(
                name,
                format!("tensor `{key}`: shape {:?} overflows", view.shape()),
            )
        })?;
        budget
            .charge_items(format!("tensor `{key}` as float32"), numel as u64, 4)
            .map_err(|e| e.in_file(name))?;
        let b = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => b
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => b
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(format_err(
                    name,
                    format!(
                        "tensor `{key}` has dtype {other:?}; only F32, F16 and BF16 tensors can \
                         be loaded"
                    ),
                ))
            }
        };
        let t = Tensor::new(view.shape().to_vec(), data).ok_or_else(|| {
            format_err(
                name,
                format!(
                    "tensor `{key}`: data does not match shape {:?}",
                    view.shape()
                ),
            )
        })?;
        tensors.insert(key.to_string(), t);
    }
    let metadata = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(SafetensorsFile { tensors, metadata })
}

/// The end of the last tensor's data according to a header, if the header is readable JSON.
/// Only the offsets are kept while parsing (a header's size is bounded before this runs).
fn declared_data_len(header: &[u8]) -> Option<u64> {
    use serde::de::{IgnoredAny, MapAccess, Visitor};

    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        data_offsets: Option<(u64, u64)>,
    }
    struct MaxEnd;
    impl<'de> Visitor<'de> for MaxEnd {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a safetensors header object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut end = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "__metadata__" {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                if let Some((_, e)) = map.next_value::<Entry>()?.data_offsets {
                    end = Some(end.map_or(e, |m: u64| m.max(e)));
                }
            }
            Ok(end)
        }
    }
    struct Header(Option<u64>);
    impl<'de> serde::Deserialize<'de> for Header {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(MaxEnd).map(Header)
        }
    }
    serde_json::from_slice::<Header>(header).ok()?.0
}

/// An f32 tensor as safetensors' serialiser sees it.
struct F32View<'a>(&'a Tensor);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.data.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
    fn data_len(&self) -> usize {
        self.0.data.len() * 4
    }
}

/// Writes tensors as float32 safetensors, keys exactly as given, with `metadata` as
/// `__metadata__` (none when empty). Used for models and for trace dumps.
pub fn write_tensors(
    tensors: &BTreeMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    for (k, t) in tensors {
        if t.shape.iter().product::<usize>() != t.data.len() {
            return Err(Error::Format(format!(
                "tensor `{k}`: shape {} does not match its {} values",
                t.shape_str(),
                t.data.len()
            )));
        }
    }
    let meta: Option<HashMap<String, String>> =
        (!metadata.is_empty()).then(|| metadata.clone().into_iter().collect());
    safetensors::tensor::serialize(tensors.iter().map(|(k, t)| (k, F32View(t))), meta)
        .map_err(|e| Error::Format(format!("cannot write safetensors: {e}")))
}

/// Writes a model: its parameters under the official keys, its config under
/// `__metadata__["config"]`, plus the `extra` metadata entries (which must not use `config`).
pub fn write_model(model: &Model, extra: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    if extra.contains_key(CONFIG_KEY) {
        return Err(Error::Config(format!(
            "metadata entry `{CONFIG_KEY}` is reserved for the model config"
        )));
    }
    let mut meta = extra.clone();
    let json = serde_json::to_string(&model.config)
        .map_err(|e| Error::Config(format!("cannot serialise the config: {e}")))?;
    meta.insert(CONFIG_KEY.to_string(), json);
    write_tensors(&model.params.tensors, &meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<String, Tensor> {
        let mut m = BTreeMap::new();
        m.insert(
            "a.weight".to_string(),
            Tensor::new(vec![2, 3], vec![1.0, -2.5, 3.25, 0.0, 1e-7, -0.0]).unwrap(),
        );
        m.insert("b".to_string(), Tensor::new(vec![1], vec![42.0]).unwrap());
        m
    }

    #[test]
    fn round_trip_with_metadata() {
        let mut meta = BTreeMap::new();
        meta.insert("note".to_string(), "hello".to_string());
        let bytes = write_tensors(&sample(), &meta).unwrap();
        let f = read_safetensors(&bytes, "t.safetensors").unwrap();
        assert_eq!(f.tensors, sample());
        assert_eq!(f.metadata, meta);
        assert_eq!(f.config().unwrap(), None);
    }

    #[test]
    fn reads_f16_and_bf16() {
        let vals = [1.0f32, -0.5, 3.0, 65504.0];
        let h: Vec<u8> = vals
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect();
        let b: Vec<u8> = vals
            .iter()
            .flat_map(|&x| bf16::from_f32(x).to_le_bytes())
            .collect();
        let views = vec![
            (
                "h",
                safetensors::tensor::TensorView::new(Dtype::F16, vec![2, 2], &h).unwrap(),
            ),
            (
                "b",
                safetensors::tensor::TensorView::new(Dtype::BF16, vec![4], &b).unwrap(),
            ),
        ];
        let bytes = safetensors::tensor::serialize(views, None).unwrap();
        let f = read_safetensors(&bytes, "x").unwrap();
        assert_eq!(f.tensors["h"].data, vals.to_vec());
        assert_eq!(f.tensors["h"].shape, vec![2, 2]);
        let bf: Vec<f32> = vals.iter().map(|&x| bf16::from_f32(x).to_f32()).collect();
        assert_eq!(f.tensors["b"].data, bf);
    }

    #[test]
    fn refuses_other_dtypes_naming_key_and_dtype() {
        let d = [0u8; 8];
        let v = safetensors::tensor::TensorView::new(Dtype::I64, vec![1], &d).unwrap();
        let bytes = safetensors::tensor::serialize(vec![("step", v)], None).unwrap();
        let e = read_safetensors(&bytes, "m.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("`step`") && e.contains("I64"),
            "{e}"
        );
    }

    #[test]
    fn truncated_files_say_so() {
        let bytes = write_tensors(&sample(), &BTreeMap::new()).unwrap();
        for cut in [3, 20, bytes.len() - 1] {
            let e = read_safetensors(&bytes[..cut], "w.safetensors")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("w.safetensors: "), "{e}");
            assert!(
                e.contains("truncated") || e.contains("shorter than"),
                "cut {cut}: {e}"
            );
        }
        // Every prefix fails cleanly.
        for cut in 0..bytes.len() {
            assert!(read_safetensors(&bytes[..cut], "w").is_err());
        }
    }
}
