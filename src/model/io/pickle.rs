//! A restricted unpickler: a small stack machine over the pickle opcodes that `torch.save`
//! emits (protocol 2, plus the few protocol 3–5 opcodes that cost nothing to support).
//!
//! Nothing is ever called. A pickle's `GLOBAL` / `STACK_GLOBAL` only names a function or class;
//! this machine looks the name up in a fixed allow-list and, for `REDUCE` / `NEWOBJ`, builds an
//! inert value that describes what the call would have made:
//!
//! | global | result of calling it |
//! |---|---|
//! | `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_tensor` | [`Obj::Tensor`] (storage, offset, size, stride) |
//! | `torch._utils._rebuild_parameter`, `torch._utils._rebuild_parameter_with_state` | its tensor argument |
//! | `torch._tensor._rebuild_from_type_v2` (with type `torch.Tensor` or `torch.nn.parameter.Parameter`) | the result of its inner rebuild |
//! | `collections.OrderedDict` | an empty [`Obj::Dict`] |
//! | `torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage` | only as the storage type of a persistent id |
//! | `numpy.core.multiarray.scalar`, `numpy._core.multiarray.scalar`, `numpy.dtype`, `_codecs.encode`, `argparse.Namespace` | an inert [`Obj::Opaque`] placeholder |
//!
//! The last row exists because the official training script stores `best_acc1` and sometimes
//! the parsed arguments next to the state dict; those entries are never read, but refusing them
//! would refuse real checkpoints. Any other global is refused with [`Error::Unsafe`] naming it.
//!
//! Persistent ids (`BINPERSID`) must be torch's `('storage', storage_type, key, location,
//! numel)`; they become [`Obj::Storage`] references whose bytes the caller reads (lazily) from
//! the zip archive.
//!
//! Containers, tuples and objects live in an arena and are referenced by index, so that
//! `BINGET` is O(1), mutation after memoisation behaves as in Python (shared references), and a
//! hostile pickle cannot blow memory up by re-using a value many times: memory stays
//! proportional to the number of opcodes, hence to the file size. That is still a lot for a small
//! file that inflates to millions of one-byte opcodes, so the machine charges every opcode and
//! every string to a memory limit ([`unpickle_limited`]) and stops with [`Error::Budget`] when it
//! is reached. Every length read from the file is checked against the bytes that are actually
//! there before anything is allocated.

use std::collections::HashMap;
use std::rc::Rc;

use crate::budget::{fmt_bytes, limits};
use crate::error::{Error, Result};

/// A value on the machine's stack. Cheap to clone: composite values are arena indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in an i64 (kept only as a marker).
    BigInt,
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    /// Index into [`Pickle::arena`].
    Obj(usize),
}

/// Element type of a torch storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageDtype {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageDtype {
    fn from_storage_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "DoubleStorage" => Self::F64,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    /// PyTorch's name for the dtype, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
            Self::F64 => "float64",
            Self::I64 => "int64",
            Self::I32 => "int32",
            Self::I16 => "int16",
            Self::I8 => "int8",
            Self::U8 => "uint8",
            Self::Bool => "bool",
        }
    }
}

/// A storage named by a persistent id: its bytes are `<archive>/data/<key>` in the zip.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageRef {
    pub dtype: StorageDtype,
    pub key: String,
    pub numel: usize,
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRef {
    pub storage: StorageRef,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

/// An allowed global: what `GLOBAL module name` pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildParameterWithState,
    RebuildFromTypeV2,
    /// `torch.Tensor` / `torch.nn.parameter.Parameter`, as the type argument of
    /// `_rebuild_from_type_v2`.
    TensorType,
    OrderedDict,
    Storage(StorageDtype),
    /// One of the documented harmless globals; calling it gives an [`Obj::Opaque`].
    Inert(&'static str),
}

/// An arena object.
#[derive(Clone, Debug, PartialEq)]
pub enum Obj {
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Insertion-ordered; a later equal key wins on lookup, as Python's assignment would.
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
    /// An inert stand-in for an object of a harmless allowed type (e.g. a numpy scalar).
    Opaque(&'static str),
}

/// The result of unpickling: the root value and the arena its objects live in.
#[derive(Debug)]
pub struct Pickle {
    pub root: Value,
    pub arena: Vec<Obj>,
}

impl Pickle {
    /// The arena object a value refers to, if it is one.
    pub fn obj(&self, v: &Value) -> Option<&Obj> {
        match v {
            Value::Obj(i) => self.arena.get(*i),
            _ => None,
        }
    }

    /// Items of a dict value (`None` when `v` is not a dict).
    pub fn dict(&self, v: &Value) -> Option<&[(Value, Value)]> {
        match self.obj(v)? {
            Obj::Dict(items) => Some(items),
            _ => None,
        }
    }

    /// The value under a string key of a dict value (last assignment wins).
    pub fn dict_get<'a>(&'a self, v: &Value, key: &str) -> Option<&'a Value> {
        self.dict(v)?
            .iter()
            .rev()
            .find(|(k, _)| matches!(k, Value::Str(s) if &**s == key))
            .map(|(_, v)| v)
    }

    /// The tensor a value refers to, if it is one.
    pub fn tensor(&self, v: &Value) -> Option<&TensorRef> {
        match self.obj(v)? {
            Obj::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

fn allowed_global(module: &str, name: &str) -> Option<Global> {
    Some(match (module, name) {
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch._utils", "_rebuild_tensor") => Global::RebuildTensor,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
        ("torch._tensor", "_rebuild_from_type_v2") => Global::RebuildFromTypeV2,
        ("torch", "Tensor") | ("torch.nn.parameter", "Parameter") => Global::TensorType,
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch", s) => Global::Storage(StorageDtype::from_storage_name(s)?),
        ("numpy.core.multiarray", "scalar") | ("numpy._core.multiarray", "scalar") => {
            Global::Inert("numpy scalar")
        }
        ("numpy", "dtype") => Global::Inert("numpy dtype"),
        ("_codecs", "encode") => Global::Inert("bytes"),
        ("argparse", "Namespace") => Global::Inert("argparse.Namespace"),
        _ => return None,
    })
}

fn refuse_global(module: &str, name: &str) -> Error {
    Error::Unsafe(format!(
        "pickle asks for global `{module}.{name}`, which is not a tensor or container type; \
         loading a checkpoint never runs code"
    ))
}

/// Longest string a pickle may name a global with (real ones are far shorter).
const MAX_GLOBAL_NAME: usize = 256;

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Estimated bytes the machine has allocated so far, and the most it may.
    cost: u64,
    limit: u64,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    arena: Vec<Obj>,
}

fn fmt_err(pos: usize, msg: impl std::fmt::Display) -> Error {
    Error::Format(format!("corrupt pickle at byte {pos}: {msg}"))
}

impl<'a> Machine<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        fmt_err(self.pos, msg)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                self.err(format!(
                    "needs {n} more bytes but only {} remain (truncated?)",
                    self.data.len() - self.pos
                ))
            })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        self.cost += n as u64;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len_u64(&mut self, v: u64) -> Result<usize> {
        usize::try_from(v).map_err(|_| self.err(format!("length {v} does not fit in memory")))
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .take(MAX_GLOBAL_NAME + 1)
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err("unterminated or over-long GLOBAL name"))?;
        let s =
            std::str::from_utf8(&rest[..n]).map_err(|_| self.err("GLOBAL name is not UTF-8"))?;
        self.pos += n + 1;
        Ok(s)
    }

    fn push_obj(&mut self, o: Obj) {
        self.arena.push(o);
        self.stack.push(Value::Obj(self.arena.len() - 1));
    }

    fn pop(&mut self) -> Result<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn top(&self) -> Result<&Value> {
        self.stack.last().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.err("MARK expected but none is open"))?;
        if m > self.stack.len() {
            return Err(self.err("MARK beyond the stack"));
        }
        Ok(self.stack.split_off(m))
    }

    fn str_value(&mut self, n: usize) -> Result<Value> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| self.err("string is not valid UTF-8"))?;
        Ok(Value::Str(Rc::from(s)))
    }

    fn bytes_value(&mut self, n: usize) -> Result<Value> {
        Ok(Value::Bytes(Rc::from(self.take(n)?)))
    }

    fn obj_mut(&mut self, v: &Value) -> Option<&mut Obj> {
        match v {
            Value::Obj(i) => self.arena.get_mut(*i),
            _ => None,
        }
    }

    fn memo_put(&mut self, idx: u32) -> Result<()> {
        let v = self.top()?.clone();
        self.memo.insert(idx, v);
        Ok(())
    }

    fn memo_get(&mut self, idx: u32) -> Result<()> {
        let v = self
            .memo
            .get(&idx)
            .cloned()
            .ok_or_else(|| self.err(format!("memo entry {idx} was never stored")))?;
        self.stack.push(v);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("SETITEMS with an odd number of values"));
        }
        let target = self.top()?.clone();
        let pos = self.pos;
        match self.obj_mut(&target) {
            Some(Obj::Dict(d)) => {
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    d.push((k, v));
                }
                Ok(())
            }
            // Setting items on an inert placeholder: ignore.
            Some(Obj::Opaque(_)) => Ok(()),
            _ => Err(fmt_err(pos, "SETITEM(S) on something that is not a dict")),
        }
    }

    fn append(&mut self, items: Vec<Value>) -> Result<()> {
        let target = self.top()?.clone();
        let pos = self.pos;
        match self.obj_mut(&target) {
            Some(Obj::List(l)) => {
                l.extend(items);
                Ok(())
            }
            Some(Obj::Opaque(_)) => Ok(()),
            _ => Err(fmt_err(pos, "APPEND(S) on something that is not a list")),
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Result<()> {
        let g = allowed_global(module, name).ok_or_else(|| refuse_global(module, name))?;
        self.push_obj(Obj::Global(g));
        Ok(())
    }

    fn as_global(&self, v: &Value) -> Option<Global> {
        match v {
            Value::Obj(i) => match self.arena.get(*i) {
                Some(Obj::Global(g)) => Some(*g),
                _ => None,
            },
            _ => None,
        }
    }

    fn tuple_items(&self, v: &Value) -> Option<&[Value]> {
        match v {
            Value::Obj(i) => match self.arena.get(*i) {
                Some(Obj::Tuple(t)) => Some(t),
                _ => None,
            },
            _ => None,
        }
    }

    fn usize_of(&self, v: &Value, what: &str) -> Result<usize> {
        match v {
            Value::Int(i) if *i >= 0 => usize::try_from(*i)
                .map_err(|_| self.err(format!("{what} {i} does not fit in memory"))),
            other => Err(self.err(format!(
                "{what} must be a non-negative integer, got {other:?}"
            ))),
        }
    }

    fn usize_tuple(&self, v: &Value, what: &str) -> Result<Vec<usize>> {
        let t = self
            .tuple_items(v)
            .ok_or_else(|| self.err(format!("tensor {what} is not a tuple")))?;
        t.iter().map(|x| self.usize_of(x, what)).collect()
    }

    /// `_rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...)`.
    fn rebuild_tensor(&self, args: &[Value]) -> Result<Obj> {
        if args.len() < 4 {
            return Err(self.err("_rebuild_tensor needs at least 4 arguments"));
        }
        let storage = match &args[0] {
            Value::Obj(i) => match self.arena.get(*i) {
                Some(Obj::Storage(s)) => s.clone(),
                _ => return Err(self.err("_rebuild_tensor's first argument is not a storage")),
            },
            _ => return Err(self.err("_rebuild_tensor's first argument is not a storage")),
        };
        let offset = self.usize_of(&args[1], "storage offset")?;
        let size = self.usize_tuple(&args[2], "size")?;
        let stride = self.usize_tuple(&args[3], "stride")?;
        if size.len() != stride.len() {
            return Err(self.err(format!(
                "tensor size {size:?} and stride {stride:?} differ in length"
            )));
        }
        Ok(Obj::Tensor(TensorRef {
            storage,
            offset,
            size,
            stride,
        }))
    }

    /// What calling `func(*args)` would give, without calling anything.
    fn call(&self, func: &Value, args: &Value) -> Result<Obj> {
        let g = self
            .as_global(func)
            .ok_or_else(|| self.err("REDUCE on something that is not a global"))?;
        let args = self
            .tuple_items(args)
            .ok_or_else(|| self.err("REDUCE arguments are not a tuple"))?;
        match g {
            Global::RebuildTensorV2 | Global::RebuildTensor => self.rebuild_tensor(args),
            Global::RebuildParameter | Global::RebuildParameterWithState => {
                match args.first().and_then(|v| match v {
                    Value::Obj(i) => self.arena.get(*i),
                    _ => None,
                }) {
                    Some(o @ Obj::Tensor(_)) => Ok(o.clone()),
                    _ => Err(self.err("_rebuild_parameter's first argument is not a tensor")),
                }
            }
            Global::RebuildFromTypeV2 => {
                // (func, new_type, args, state)
                if args.len() < 3 {
                    return Err(self.err("_rebuild_from_type_v2 needs 3 arguments"));
                }
                if self.as_global(&args[1]) != Some(Global::TensorType) {
                    return Err(self.err("_rebuild_from_type_v2 with a type other than Tensor"));
                }
                if self.as_global(&args[0]) == Some(Global::RebuildFromTypeV2) {
                    return Err(self.err("nested _rebuild_from_type_v2"));
                }
                self.call(&args[0], &args[2])
            }
            Global::OrderedDict => Ok(Obj::Dict(Vec::new())),
            Global::Inert(what) => Ok(Obj::Opaque(what)),
            Global::TensorType => Err(self.err("calling torch.Tensor directly is not supported")),
            Global::Storage(_) => Err(self
                .err("a storage type is called directly; torch writes storages as persistent ids")),
        }
    }

    fn persistent_load(&mut self, pid: Value) -> Result<()> {
        let bad = || {
            Error::Unsafe(
                "pickle uses a persistent id other than torch's ('storage', type, key, \
                 location, numel)"
                    .to_string(),
            )
        };
        let t = self.tuple_items(&pid).ok_or_else(bad)?;
        if t.len() != 5 || !matches!(&t[0], Value::Str(s) if &**s == "storage") {
            return Err(bad());
        }
        let dtype = match self.as_global(&t[1]) {
            Some(Global::Storage(d)) => d,
            _ => return Err(self.err("persistent id names a storage type that is not one")),
        };
        let key = match &t[2] {
            Value::Str(s) => s.to_string(),
            _ => return Err(self.err("storage key is not a string")),
        };
        let numel = self.usize_of(&t[4], "storage size")?;
        self.push_obj(Obj::Storage(StorageRef { dtype, key, numel }));
        Ok(())
    }

    fn run(mut self) -> Result<(Pickle, u64)> {
        loop {
            let op_pos = self.pos;
            // Every opcode pushes at most about one arena object and one value (with the
            // vectors' doubling slack); strings and bytes add their length in `take`.
            self.cost += OP_COST;
            if self.cost > self.limit {
                return Err(Error::Budget(format!(
                    "the pickle's objects need more than {} (at byte {op_pos} of {}), the \
                     limit for unpickling; a model's state dict needs a few MB",
                    fmt_bytes(self.limit),
                    self.data.len()
                )));
            }
            let op = self
                .u8()
                .map_err(|_| fmt_err(op_pos, "ends before STOP (truncated?)"))?;
            match op {
                0x80 => {
                    // PROTO
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {v}")));
                    }
                }
                0x95 => {
                    // FRAME: an 8-byte length; the frame's opcodes follow inline.
                    self.take(8)?;
                }
                b'.' => {
                    let root = self.pop()?;
                    return Ok((
                        Pickle {
                            root,
                            arena: self.arena,
                        },
                        self.cost,
                    ));
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'}' => self.push_obj(Obj::Dict(Vec::new())),
                b']' => self.push_obj(Obj::List(Vec::new())),
                b')' => self.push_obj(Obj::Tuple(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::Dict(Vec::new()));
                    self.set_items(items)?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::List(items));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return Err(self.err("stack underflow in TUPLE1/2/3"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_obj(Obj::Tuple(items));
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.arr()?) as usize;
                    let v = self.str_value(n)?;
                    self.stack.push(v);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.str_value(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = u64::from_le_bytes(self.arr()?);
                    let n = self.len_u64(n)?;
                    let v = self.str_value(n)?;
                    self.stack.push(v);
                }
                b'B' => {
                    let n = u32::from_le_bytes(self.arr()?) as usize;
                    let v = self.bytes_value(n)?;
                    self.stack.push(v);
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let v = self.bytes_value(n)?;
                    self.stack.push(v);
                }
                0x8e => {
                    let n = u64::from_le_bytes(self.arr()?);
                    let n = self.len_u64(n)?;
                    let v = self.bytes_value(n)?;
                    self.stack.push(v);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.arr()?);
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.arr()?);
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.u8()? as usize
                    } else {
                        let n = i32::from_le_bytes(self.arr()?);
                        usize::try_from(n).map_err(|_| self.err("negative LONG4 length"))?
                    };
                    let b = self.take(n)?;
                    let v = if n == 0 {
                        Value::Int(0)
                    } else if n <= 8 {
                        let neg = b[n - 1] & 0x80 != 0;
                        let mut a = if neg { [0xffu8; 8] } else { [0u8; 8] };
                        a[..n].copy_from_slice(b);
                        Value::Int(i64::from_le_bytes(a))
                    } else {
                        Value::BigInt
                    };
                    self.stack.push(v);
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.arr()?);
                    self.stack.push(Value::Float(v));
                }
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'N' => self.stack.push(Value::None),
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b'q' => {
                    let i = self.u8()? as u32;
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = u32::from_le_bytes(self.arr()?);
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i =
                        u32::try_from(self.memo.len()).map_err(|_| self.err("memo too large"))?;
                    self.memo_put(i)?;
                }
                b'h' => {
                    let i = self.u8()? as u32;
                    self.memo_get(i)?;
                }
                b'j' => {
                    let i = u32::from_le_bytes(self.arr()?);
                    self.memo_get(i)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.global(&m, &n)?,
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let o = self.call(&func, &args)?;
                    self.push_obj(o);
                }
                0x81 => {
                    // NEWOBJ: cls.__new__(cls, *args)
                    let _args = self.pop()?;
                    let cls = self.pop()?;
                    match self.as_global(&cls) {
                        Some(Global::Inert(what)) => self.push_obj(Obj::Opaque(what)),
                        Some(Global::OrderedDict) => self.push_obj(Obj::Dict(Vec::new())),
                        _ => return Err(self.err("NEWOBJ of a type that is not allowed")),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.persistent_load(pid)?;
                }
                b'b' => {
                    // BUILD: sets an object's state. Attributes of dicts (`_metadata`), numpy
                    // dtypes and placeholders are not needed; a tensor's state is ignored too.
                    self.pop()?;
                    self.top()?;
                }
                other => {
                    return Err(fmt_err(
                        op_pos,
                        format!(
                            "unsupported opcode 0x{other:02x} ({:?}); torch.save does not emit it",
                            other as char
                        ),
                    ))
                }
            }
        }
    }
}

/// Bytes charged per opcode: an arena object and a stack value, twice (vectors grow by
/// doubling, so a full one briefly holds its old and new buffers).
const OP_COST: u64 = 2 * (std::mem::size_of::<Obj>() + std::mem::size_of::<Value>()) as u64;

/// Unpickles `data` with the restricted machine described in the module docs, within
/// [`limits::PICKLE_MACHINE`] bytes of machine memory.
pub fn unpickle(data: &[u8]) -> Result<Pickle> {
    unpickle_limited(data, limits::PICKLE_MACHINE).map(|(p, _)| p)
}

/// [`unpickle`] refusing (with [`Error::Budget`]) once the machine's estimated memory would pass
/// `limit` bytes; also returns that estimate.
pub fn unpickle_limited(data: &[u8], limit: u64) -> Result<(Pickle, u64)> {
    Machine {
        data,
        pos: 0,
        cost: 0,
        limit,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        arena: Vec::new(),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(module: &str, name: &str) -> Vec<u8> {
        let mut v = vec![b'c'];
        v.extend_from_slice(module.as_bytes());
        v.push(b'\n');
        v.extend_from_slice(name.as_bytes());
        v.push(b'\n');
        v
    }

    fn ustr(s: &str) -> Vec<u8> {
        let mut v = vec![b'X'];
        v.extend_from_slice(&(s.len() as u32).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn refuses_posix_system() {
        let mut p = vec![0x80, 2];
        p.extend(global("posix", "system"));
        p.extend(ustr("echo pwned"));
        p.extend([0x85, b'R', b'.']);
        let e = unpickle(&p).unwrap_err();
        assert!(matches!(e, Error::Unsafe(_)));
        let m = e.to_string();
        assert!(
            m.contains("`posix.system`") && m.contains("never runs code"),
            "{m}"
        );
    }

    #[test]
    fn refuses_stack_global() {
        let mut p = vec![0x80, 4];
        p.extend(ustr("builtins"));
        p.extend(ustr("eval"));
        p.push(0x93);
        let m = unpickle(&p).unwrap_err().to_string();
        assert!(m.contains("`builtins.eval`"), "{m}");
    }

    #[test]
    fn dict_list_ints_floats_and_memo() {
        // {'a': [1, -2, 300, 70000, 2**40, 0.5, True, None], 'b': <memo of the list>}
        let mut p = vec![0x80, 2, b'}', b'q', 0, b'('];
        p.extend(ustr("a"));
        p.extend([b']', b'q', 1, b'(']);
        p.extend([b'K', 1]);
        p.push(b'J');
        p.extend((-2i32).to_le_bytes());
        p.extend([b'M']);
        p.extend(300u16.to_le_bytes());
        p.push(b'J');
        p.extend(70000i32.to_le_bytes());
        p.extend([0x8a, 6, 0, 0, 0, 0, 0, 1]);
        p.push(b'G');
        p.extend(0.5f64.to_be_bytes());
        p.extend([0x88, b'N', b'e']);
        p.extend(ustr("b"));
        p.extend([b'h', 1, b'u', b'.']);
        let pk = unpickle(&p).unwrap();
        let a = pk.dict_get(&pk.root, "a").unwrap();
        let b = pk.dict_get(&pk.root, "b").unwrap();
        assert_eq!(a, b, "memo keeps the shared reference");
        let Some(Obj::List(items)) = pk.obj(a) else {
            panic!("not a list")
        };
        assert_eq!(
            items,
            &vec![
                Value::Int(1),
                Value::Int(-2),
                Value::Int(300),
                Value::Int(70000),
                Value::Int(1 << 40),
                Value::Float(0.5),
                Value::Bool(true),
                Value::None
            ]
        );
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let mut p = vec![0x80, 2, b'}', b'('];
        p.extend(ustr("key"));
        p.extend([b'X', 0xff, 0xff, 0xff, 0x7f, b'a']);
        let m = unpickle(&p).unwrap_err().to_string();
        assert!(m.contains("truncated"), "{m}");
        for cut in 0..p.len() {
            assert!(unpickle(&p[..cut]).is_err());
        }
        // Every single-byte input and a few opcodes on an empty stack.
        for b in 0..=255u8 {
            let _ = unpickle(&[b]);
            let _ = unpickle(&[0x80, 2, b, b'.']);
            let _ = unpickle(&[b'(', b, b'.']);
        }
    }

    #[test]
    fn tensor_rebuild_from_persistent_id() {
        let mut p = vec![0x80, 2];
        p.extend(global("torch._utils", "_rebuild_tensor_v2"));
        p.extend([b'(', b'(']);
        p.extend(ustr("storage"));
        p.extend(global("torch", "HalfStorage"));
        p.extend(ustr("0"));
        p.extend(ustr("cpu"));
        p.extend([b'K', 6, b't', b'Q', b'K', 1]);
        p.extend([b'K', 2, b'K', 2, 0x86, b'K', 1, b'K', 2, 0x86, 0x89]);
        p.extend(global("collections", "OrderedDict"));
        p.extend([b')', b'R', b't', b'R', b'.']);
        let pk = unpickle(&p).unwrap();
        let t = pk.tensor(&pk.root).unwrap();
        assert_eq!(
            t,
            &TensorRef {
                storage: StorageRef {
                    dtype: StorageDtype::F16,
                    key: "0".into(),
                    numel: 6
                },
                offset: 1,
                size: vec![2, 2],
                stride: vec![1, 2],
            }
        );
    }

    #[test]
    fn reused_tuples_stay_small() {
        // t0 = (1, 1); t_{k+1} = (t_k, t_k) 60 times: a tree of 2^60 leaves if copied.
        let mut p = vec![0x80, 2, b'K', 1, b'K', 1, 0x86, b'q', 0];
        for i in 0..60u8 {
            p.extend([b'h', i, b'h', i, 0x86, b'q', i + 1, b'0']);
            p.extend([b'h', i + 1]);
        }
        p.push(b'.');
        let pk = unpickle(&p).unwrap();
        assert!(pk.arena.len() < 100);
    }
}
