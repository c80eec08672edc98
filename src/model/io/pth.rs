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

use super::pickle::{unpickle_limited, Obj, Pickle, StorageDtype, TensorRef, Value};
use crate::budget::{fmt_bytes, limits, Budget};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

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
/// removed. `name` (the file name) is used in messages. Memory is bounded by
/// [`Budget::loading`].
pub fn read_pth(bytes: &[u8], name: &str) -> Result<BTreeMap<String, Tensor>> {
    read_pth_with(bytes, name, &mut Budget::loading(name))
}

/// [`read_pth`], charging to `budget` the pickle and its objects, the storage bytes inflated
/// (only the prefix that some tensor views) and the float32 tensors made from them.
pub fn read_pth_with(
    bytes: &[u8],
    name: &str,
    budget: &mut Budget,
) -> Result<BTreeMap<String, Tensor>> {
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

    let max_pickle = limits::PICKLE as usize;
    budget.charge(
        format!("`{pkl_name}`"),
        limits::PICKLE.min(pkl_size(&mut zip, &pkl_name)),
    )?;
    let pkl = read_entry(&mut zip, &pkl_name, Some(max_pickle + 1), name)?;
    if pkl.len() > max_pickle {
        return Err(Error::Budget(format!(
            "{name}: `{pkl_name}` is larger than {}; not a model checkpoint (a state dict's \
             pickle is a few hundred KB)",
            fmt_bytes(limits::PICKLE)
        )));
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

    let machine_limit = limits::PICKLE_MACHINE.min(budget.remaining());
    let (pickle, cost) = unpickle_limited(&pkl, machine_limit).map_err(|e| match e {
        Error::Unsafe(m) if torchscript => Error::Unsafe(format!(
            "{name}: {m} (this is a TorchScript archive, not a state dict; save \
             `model.state_dict()` with torch.save instead)"
        )),
        Error::Unsafe(m) => Error::Unsafe(format!("{name}: {m}")),
        Error::Format(m) => format_err(name, m),
        other => other.in_file(name),
    })?;
    budget.charge("unpickling", cost)?;
    drop(pkl);

    let sd = find_state_dict(&pickle).ok_or_else(|| {
        format_err(
            name,
            "checkpoint holds neither a state dict nor a dict with one under `state_dict` or \
             `model`",
        )
    })?;

    // First the views: their extents, which storage prefix each needs, and how many elements
    // they copy in all; nothing is inflated or allocated before all of that is known.
    let mut views: Vec<(String, &TensorRef, usize)> = Vec::new();
    let mut need: HashMap<&str, usize> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in sd {
        let Value::Str(key) = k else { continue };
        let Some(t) = pickle.tensor(v) else { continue };
        let key = key.strip_prefix("module.").unwrap_or(key).to_string();
        if !seen.insert(key.clone()) {
            return Err(format_err(
                name,
                format!("parameter `{key}` appears twice (with and without `module.`)"),
            ));
        }
        let (numel, bytes) = view_extent(t, &key, name)?;
        let e = need.entry(t.storage.key.as_str()).or_insert(0);
        *e = (*e).max(bytes);
        views.push((key, t, numel));
    }
    if views.is_empty() {
        return Err(format_err(name, "the state dict holds no tensors"));
    }
    // Views may share a storage (tied weights), but a file whose views copy one storage over and
    // over would multiply a small file into gigabytes.
    let viewed: u64 = views.iter().map(|(_, _, n)| *n as u64).sum();
    let held: u64 = views
        .iter()
        .map(|(_, t, _)| (t.storage.key.as_str(), t.storage.dtype.size()))
        .collect::<HashMap<_, _>>()
        .into_iter()
        .map(|(k, esz)| (need[k] / esz) as u64)
        .sum();
    if viewed > 2 * held + (1 << 20) {
        return Err(Error::Budget(format!(
            "{name}: its {} tensors view {viewed} elements in all, more than twice the {held} \
             elements their storages hold (the same storage viewed over and over); refusing to \
             copy them",
            views.len()
        )));
    }

    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = BTreeMap::new();
    for (key, t, numel) in views {
        if !storages.contains_key(&t.storage.key) {
            let bytes = need[t.storage.key.as_str()];
            budget.charge(format!("storage `data/{}`", t.storage.key), bytes as u64)?;
            let entry = format!("{prefix}data/{}", t.storage.key);
            let data = read_entry(&mut zip, &entry, Some(bytes), name)?;
            storages.insert(t.storage.key.clone(), data);
        }
        budget.charge_items(format!("parameter `{key}` as float32"), numel as u64, 4)?;
        let tensor = materialise(&storages[&t.storage.key], t, numel, &key, big_endian, name)?;
        out.insert(key, tensor);
    }
    Ok(out)
}

/// The zip's declared size of an entry (0 when it cannot be read; the read reports that).
fn pkl_size<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, entry: &str) -> u64 {
    zip.by_name(entry).map(|f| f.size()).unwrap_or(0)
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

/// Checks a view (dtype, rank, size/stride/offset against its storage) and returns its element
/// count and the bytes of the storage's prefix it reaches.
fn view_extent(t: &TensorRef, key: &str, name: &str) -> Result<(usize, usize)> {
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
    if numel == 0 {
        return Ok((0, 0));
    }
    // Highest storage index the view touches; all indices then lie in [offset, last].
    let last = t
        .size
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
        })?;
    if last >= t.storage.numel {
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
    let bytes = (last + 1).checked_mul(dtype.size()).ok_or_else(|| {
        format_err(
            name,
            format!(
                "parameter `{key}`: storage size {} overflows",
                t.storage.numel
            ),
        )
    })?;
    Ok((numel, bytes))
}

/// The float32 tensor a checked view reads from `storage` (the prefix of its storage that
/// [`view_extent`] asked for, possibly shorter when the archive is truncated).
fn materialise(
    storage: &[u8],
    t: &TensorRef,
    numel: usize,
    key: &str,
    big_endian: bool,
    name: &str,
) -> Result<Tensor> {
    let dtype = t.storage.dtype;
    let need = if numel == 0 {
        0
    } else {
        view_extent(t, key, name)?.1
    };
    if storage.len() < need {
        return Err(format_err(
            name,
            format!(
                "parameter `{key}`: storage `data/{}` holds {} bytes but the view needs {need} \
                 (truncated?)",
                t.storage.key,
                storage.len(),
            ),
        ));
    }
    let bytes = storage;
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
