//! PyTorch `torch.save` checkpoints (`.pth`, `.pth.tar`), read natively.
//!
//! A checkpoint is a zip archive: `<archive>/data.pkl` (the pickled object), one entry
//! `<archive>/data/<key>` per storage (raw elements, little-endian unless `<archive>/byteorder`
//! says `big`), plus `version` files. The pickle goes through the restricted machine of
//! [`super::pickle`]; only the storages that state-dict tensors refer to are read, and every
//! size is checked against the bytes that are actually there.
//!
//! Accepted layouts: a bare state dict, or a dict holding it under `state_dict` (or `model`),
//! as the official training script writes (`epoch`, `arch`, `best_acc1`, `optimizer`,
//! `scheduler` are ignored). `module.` prefixes (DataParallel) are stripped; non-tensor values
//! inside the state dict are skipped.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use half::{bf16, f16};

use super::pickle::{unpickle, Obj, Pickle, StorageDtype, TensorRef, Value};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Largest `data.pkl` accepted (a CRATE-L state dict's pickle is a few hundred KB; the tensor
/// data lives in separate entries).
const MAX_PICKLE: usize = 256 << 20;

/// Most dimensions a tensor may have.
const MAX_DIMS: usize = 16;

fn format_err(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::Format(format!("{name}: {msg}"))
}

/// True when `bytes` starts like a zip archive (what `torch.save` writes since PyTorch 1.6).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads the float tensors of a checkpoint's state dict, under keys with any `module.` prefix
/// removed. `name` (the file name) is used in messages.
pub fn read_pth(bytes: &[u8], name: &str) -> Result<BTreeMap<String, Tensor>> {
    if bytes.first() == Some(&0x80) {
        return Err(format_err(
            name,
            "this is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; \
             load and re-save it with a recent PyTorch, or convert it to safetensors",
        ));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        format_err(
            name,
            format!("not a readable PyTorch checkpoint (zip archive): {e} (truncated or corrupt?)"),
        )
    })?;
    let pkl_name = zip
        .file_names()
        .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .min_by_key(|n| n.len())
        .map(str::to_string)
        .ok_or_else(|| {
            format_err(
                name,
                "zip archive has no `<name>/data.pkl`; it is not a torch.save checkpoint",
            )
        })?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_string();
    let torchscript = zip
        .file_names()
        .any(|n| n.starts_with(&format!("{prefix}code/")));

    let pkl = read_entry(&mut zip, &pkl_name, Some(MAX_PICKLE), name)?;
    if pkl.len() == MAX_PICKLE {
        return Err(format_err(
            name,
            format!("`{pkl_name}` is larger than {MAX_PICKLE} bytes; not a model checkpoint"),
        ));
    }
    let big_endian = match zip.by_name(&format!("{prefix}byteorder")) {
        Ok(mut f) => {
            let mut s = String::new();
            (&mut f)
                .take(16)
                .read_to_string(&mut s)
                .map_err(|e| format_err(name, format!("cannot read `{prefix}byteorder`: {e}")))?;
            match s.trim() {
                "little" => false,
                "big" => true,
                other => {
                    return Err(format_err(
                        name,
                        format!("unknown byte order `{other}` in `{prefix}byteorder`"),
                    ))
                }
            }
        }
        Err(_) => false,
    };

    let pickle = unpickle(&pkl).map_err(|e| match e {
        Error::Unsafe(m) if torchscript => Error::Unsafe(format!(
            "{name}: {m} (this is a TorchScript archive, not a state dict; save \
             `model.state_dict()` with torch.save instead)"
        )),
        Error::Unsafe(m) => Error::Unsafe(format!("{name}: {m}")),
        Error::Format(m) => format_err(name, m),
        other => other,
    })?;

    let sd = find_state_dict(&pickle).ok_or_else(|| {
        format_err(
            name,
            "checkpoint holds neither a state dict nor a dict with one under `state_dict` or \
             `model`",
        )
    })?;

    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = BTreeMap::new();
    for (k, v) in sd {
        let Value::Str(key) = k else { continue };
        let Some(t) = pickle.tensor(v) else { continue };
        let key = key.strip_prefix("module.").unwrap_or(key).to_string();
        if out.contains_key(&key) {
            return Err(format_err(
                name,
                format!("parameter `{key}` appears twice (with and without `module.`)"),
            ));
        }
        let tensor = materialise(&mut zip, &prefix, &mut storages, t, &key, big_endian, name)?;
        out.insert(key, tensor);
    }
    if out.is_empty() {
        return Err(format_err(name, "the state dict holds no tensors"));
    }
    Ok(out)
}

/// The state dict: the root dict itself, or its `state_dict` / `model` entry.
fn find_state_dict(p: &Pickle) -> Option<&[(Value, Value)]> {
    let root = p.dict(&p.root)?;
    for key in ["state_dict", "model"] {
        if let Some(sd) = p.dict_get(&p.root, key).and_then(|v| p.dict(v)) {
            return Some(sd);
        }
    }
    // A bare state dict: some value is a tensor.
    root.iter()
        .any(|(_, v)| matches!(p.obj(v), Some(Obj::Tensor(_))))
        .then_some(root)
}

/// Reads a zip entry: all of it, or its first `need` bytes when given (fewer when the entry is
/// shorter; the caller checks). Allocation follows the bytes actually read.
fn read_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    entry: &str,
    need: Option<usize>,
    name: &str,
) -> Result<Vec<u8>> {
    let f = zip
        .by_name(entry)
        .map_err(|e| format_err(name, format!("missing entry `{entry}`: {e}")))?;
    let declared = f.size();
    let compressed = f.compressed_size();
    // Never pre-allocate more than the archive could hold; `read_to_end` grows with real bytes.
    let want = need.map_or(declared, |n| n as u64);
    let cap = want
        .min(declared)
        .min(compressed.saturating_mul(4).max(1 << 16));
    let mut buf = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    let take = need.map_or(u64::MAX, |n| n as u64);
    f.take(take).read_to_end(&mut buf).map_err(|e| {
        format_err(
            name,
            format!("cannot read `{entry}` from the archive: {e} (truncated or corrupt?)"),
        )
    })?;
    Ok(buf)
}

/// The bytes of one storage, read once and kept for views that share it.
fn storage_bytes<'s, R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    prefix: &str,
    cache: &'s mut HashMap<String, Vec<u8>>,
    t: &TensorRef,
    key: &str,
    name: &str,
) -> Result<&'s [u8]> {
    let s = &t.storage;
    let need = s.numel.checked_mul(s.dtype.size()).ok_or_else(|| {
        format_err(
            name,
            format!("parameter `{key}`: storage size {} overflows", s.numel),
        )
    })?;
    if !cache.contains_key(&s.key) {
        let entry = format!("{prefix}data/{}", s.key);
        let bytes = read_entry(zip, &entry, Some(need), name)?;
        cache.insert(s.key.clone(), bytes);
    }
    let bytes = cache
        .get(&s.key)
        .ok_or_else(|| format_err(name, "storage cache"))?;
    if bytes.len() < need {
        return Err(format_err(
            name,
            format!(
                "parameter `{key}`: storage `data/{}` holds {} bytes but {} {} elements need {need} \
                 (truncated?)",
                s.key,
                bytes.len(),
                s.numel,
                s.dtype.name()
            ),
        ));
    }
    Ok(&bytes[..need])
}

fn materialise<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    prefix: &str,
    cache: &mut HashMap<String, Vec<u8>>,
    t: &TensorRef,
    key: &str,
    big_endian: bool,
    name: &str,
) -> Result<Tensor> {
    let dtype = t.storage.dtype;
    if !matches!(
        dtype,
        StorageDtype::F32 | StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::F64
    ) {
        return Err(format_err(
            name,
            format!(
                "parameter `{key}` has dtype {}; only float32, float16, bfloat16 and float64 \
                 tensors can be loaded",
                dtype.name()
            ),
        ));
    }
    if t.size.len() > MAX_DIMS {
        return Err(format_err(
            name,
            format!("parameter `{key}` has {} dimensions", t.size.len()),
        ));
    }
    let numel = t
        .size
        .iter()
        .try_fold(1usize, |a, &s| a.checked_mul(s))
        .ok_or_else(|| {
            format_err(
                name,
                format!("parameter `{key}`: size {:?} overflows", t.size),
            )
        })?;
    // Highest storage index the view touches; all indices then lie in [offset, last].
    let last = if numel == 0 {
        t.offset
    } else {
        t.size
            .iter()
            .zip(&t.stride)
            .try_fold(t.offset, |a, (&s, &st)| {
                (s - 1).checked_mul(st).and_then(|x| a.checked_add(x))
            })
            .ok_or_else(|| {
                format_err(
                    name,
                    format!("parameter `{key}`: size/stride/offset overflow"),
                )
            })?
    };
    if numel > 0 && last >= t.storage.numel {
        return Err(format_err(
            name,
            format!(
                "parameter `{key}` (size {:?}, stride {:?}, offset {}) reaches element {last} of a \
                 storage of {} elements",
                t.size, t.stride, t.offset, t.storage.numel
            ),
        ));
    }
    if numel > t.storage.numel {
        return Err(format_err(
            name,
            format!(
                "parameter `{key}` has {numel} elements but its storage only {} (broadcast views \
                 are not supported)",
                t.storage.numel
            ),
        ));
    }
    let bytes = storage_bytes(zip, prefix, cache, t, key, name)?;
    let esz = dtype.size();
    let read = |i: usize| -> f32 {
        let b = &bytes[i * esz..(i + 1) * esz];
        match (dtype, big_endian) {
            (StorageDtype::F32, false) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (StorageDtype::F32, true) => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            (StorageDtype::F16, false) => f16::from_le_bytes([b[0], b[1]]).to_f32(),
            (StorageDtype::F16, true) => f16::from_be_bytes([b[0], b[1]]).to_f32(),
            (StorageDtype::BF16, false) => bf16::from_le_bytes([b[0], b[1]]).to_f32(),
            (StorageDtype::BF16, true) => bf16::from_be_bytes([b[0], b[1]]).to_f32(),
            (StorageDtype::F64, be) => {
                let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                (if be {
                    f64::from_be_bytes(a)
                } else {
                    f64::from_le_bytes(a)
                }) as f32
            }
            _ => f32::NAN, // excluded above
        }
    };
    let mut data = Vec::with_capacity(numel);
    if numel > 0 {
        // Walk the index space in row-major order (odometer), following the strides.
        let nd = t.size.len();
        let mut idx = vec![0usize; nd];
        let mut pos = t.offset;
        for _ in 0..numel {
            data.push(read(pos));
            for d in (0..nd).rev() {
                // Wrapping: a dimension of size 1 may carry any stride; the positions actually
                // read were bounds-checked above.
                idx[d] += 1;
                pos = pos.wrapping_add(t.stride[d]);
                if idx[d] < t.size[d] {
                    break;
                }
                pos = pos.wrapping_sub(t.stride[d].wrapping_mul(t.size[d]));
                idx[d] = 0;
            }
        }
    }
    Tensor::new(t.size.clone(), data)
        .ok_or_else(|| format_err(name, format!("parameter `{key}`: element count mismatch")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_zip_and_legacy() {
        let e = read_pth(b"PK\x03\x04garbage", "x.pth")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.pth: ") && e.contains("zip"), "{e}");
        let e = read_pth(&[0x80, 2, 0x8a, 0x0a], "old.pth")
            .unwrap_err()
            .to_string();
        assert!(e.contains("legacy"), "{e}");
    }
}
