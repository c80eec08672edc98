//! The messages between the page (main thread) and the inference worker, which owns the model
//! and both engines (`src/ui/infer/`). A message is a JSON string, alone or, when arrays or a
//! model file travel with it, the first item of a two-item array whose second item is an
//! `ArrayBuffer`, transferred rather than copied. Numbers never travel as JSON: every `f32`
//! and `f64` of a report, a trace or the measures goes in the buffer as its own bytes, so the
//! page shows exactly what the worker computed ([`Arrays`]: the `f64` arrays first, then the
//! `f32` ones, each at an offset aligned for typed-array views, then the bytes: image files and
//! RGBA pictures).

use serde::{Deserialize, Serialize};

use super::engine_choice::{GpuState, Which};
use super::prepared::{Display, Prepared};
use crate::analysis::{ImageReport, LayerStats, Prediction};
use crate::data::image::Rgba8Image;
use crate::engine::{LayerTrace, Trace};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Main thread → worker: a command for the runtime `rt` (one per loaded model), answered by a
/// [`FromInfer::Reply`] with the same `req`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub req: u64,
    pub rt: u64,
    pub cmd: ToInfer,
    /// The arrays in the buffer sent with this message (none for [`ToInfer::Load`], whose
    /// buffer is the model file).
    #[serde(default)]
    pub arrays: ArrayLens,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ToInfer {
    /// Parse the model file sent with this message and open the engines for it, as runtime
    /// `rt`: the CPU engine at once, and with `want_gpu` WebGPU in the background (the reply's
    /// state is [`GpuWire::Starting`] until it is open; see [`ToInfer::AwaitGpu`]).
    Load {
        name: String,
        heads: Option<usize>,
        want_gpu: bool,
    },
    /// The page no longer uses runtime `rt`: free it.
    Drop,
    RetryGpu,
    /// Waits until the WebGPU engine that [`ToInfer::Load`] started opening in the background
    /// is open (or failed) and answers with its state.
    AwaitGpu,
    /// One image (C, H, W) in `f32[0]`: its report, and its trace when `trace`. Otherwise,
    /// with `keep`, the worker keeps the trace under that key for a [`ToInfer::TakeTrace`] (the
    /// page's Subspaces view asks for it when shown: 145 MB for a B/8 at 224 that the other
    /// views never read). One trace is kept at a time.
    Analyse {
        shape: [usize; 3],
        which: Which,
        trace: bool,
        #[serde(default)]
        keep: Option<u64>,
    },
    /// The trace kept under `key` ([`Body::Traced`]), handed over once; a failure when another
    /// analysis has replaced it since.
    TakeTrace {
        key: u64,
    },
    /// A batch (B, C, H, W) in `f32[0]`: its trace, without attention.
    TraceBatch {
        shape: [usize; 4],
        which: Which,
    },
    /// A batch (B, C, H, W) in `f32[0]`: the per-layer measures of each image.
    LayerStats {
        shape: [usize; 4],
        which: Which,
    },
    /// A CPU forward of a blank image: are the model's logits finite?
    Probe,
    /// A test hook: destroys the WebGPU device, as a driver reset would.
    LoseDevice,
    /// [`crate::analysis::pca_rgb`] of one layer's tokens (N, d) in `f32[0]` (no runtime: the
    /// Attention view's PCA map, seconds of work for a B/8-sized layer in a debug build).
    Pca {
        tokens: usize,
        dim: usize,
    },
    /// [`crate::page::prepared::prepare`] of the image file in `u8[0]` for runtime `rt`'s model:
    /// fitted to `size` by `fit` (a [`crate::data::image::Resize`] name), with the pictures
    /// when `display`.
    Prepare {
        name: String,
        size: [usize; 2],
        fit: String,
        display: bool,
    },
}

/// Worker → main thread.
// Each message is decoded once and taken apart at once: boxing the reply would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FromInfer {
    /// The worker's wasm is up.
    Ready,
    /// The answer to request `req`, with the runtime's WebGPU state after it.
    Reply {
        req: u64,
        gpu: GpuWire,
        has_gpu: bool,
        #[serde(default)]
        arrays: ArrayLens,
        body: Body,
        /// The worker's timings since its last reply (what, when in ms since the Unix epoch on
        /// the high-resolution clock), for the page's start-up breakdown
        /// (`window.__wbWorkerMarks`, in ms since the page's time origin).
        #[serde(default)]
        marks: Vec<(String, f64)>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    Done,
    Failed {
        message: String,
    },
    /// The report of [`ToInfer::Analyse`] (and its trace, without attention) in the arrays.
    Analysed {
        ms: f64,
        report: ReportHead,
        trace: Option<TraceHead>,
    },
    Traced {
        trace: TraceHead,
    },
    /// The colours of [`ToInfer::Pca`], three per patch, in `f32[0]`.
    Pca,
    /// `[image][layer]` measures in `f64[0]` (rc_in, rc_out, sparsity per layer).
    Stats {
        images: usize,
        layers: usize,
    },
    /// The answer to [`ToInfer::Prepare`]: see [`pack_prepared`].
    Prepared {
        head: PreparedHead,
    },
}

/// [`GpuState`] on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GpuWire {
    Ready { adapter: String, software: bool },
    Unavailable { why: String },
    Starting,
}

impl From<&GpuState> for GpuWire {
    fn from(s: &GpuState) -> Self {
        match s {
            GpuState::Ready { adapter, software } => GpuWire::Ready {
                adapter: adapter.clone(),
                software: *software,
            },
            GpuState::Unavailable(why) => GpuWire::Unavailable { why: why.clone() },
            GpuState::Starting => GpuWire::Starting,
        }
    }
}

impl From<GpuWire> for GpuState {
    fn from(w: GpuWire) -> Self {
        match w {
            GpuWire::Ready { adapter, software } => GpuState::Ready { adapter, software },
            GpuWire::Unavailable { why } => GpuState::Unavailable(why),
            GpuWire::Starting => GpuState::Starting,
        }
    }
}

pub fn encode<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg).unwrap_or_else(|e| {
        format!(r#"{{"event":"reply","req":0,"gpu":{{"state":"unavailable","why":""}},"has_gpu":false,"body":{{"kind":"failed","message":"cannot encode a message: {e}"}}}}"#)
    })
}

pub fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Format(format!("inference worker message: {e}")))
}

/// The lengths of the arrays in a message's buffer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArrayLens {
    pub f64: Vec<usize>,
    pub f32: Vec<usize>,
    #[serde(default)]
    pub u8: Vec<usize>,
}

impl ArrayLens {
    /// Byte offsets of the `f64` arrays, of the `f32` arrays, of the `u8` arrays, and the
    /// buffer's length: `f64`s first (8-byte aligned from 0), then the `f32`s, then the bytes;
    /// each array starts where a typed-array view of its kind may start.
    pub fn offsets(&self) -> Result<Offsets> {
        let too_big = || Error::Input("a message's arrays are too large".into());
        let mut at = 0usize;
        let mut o64 = Vec::with_capacity(self.f64.len());
        for &n in &self.f64 {
            o64.push(at);
            at = n
                .checked_mul(8)
                .and_then(|b| at.checked_add(b))
                .ok_or_else(too_big)?;
        }
        let mut o32 = Vec::with_capacity(self.f32.len());
        for &n in &self.f32 {
            o32.push(at);
            at = n
                .checked_mul(4)
                .and_then(|b| at.checked_add(b))
                .ok_or_else(too_big)?;
        }
        let mut o8 = Vec::with_capacity(self.u8.len());
        for &n in &self.u8 {
            o8.push(at);
            at = at.checked_add(n).ok_or_else(too_big)?;
        }
        Ok(Offsets {
            f64: o64,
            f32: o32,
            u8: o8,
            total: at,
        })
    }

    /// [`Self::offsets`] for a buffer of `len` bytes that came with these lengths: an error unless
    /// the buffer is exactly as long as the arrays need.
    pub fn offsets_for(&self, len: usize) -> Result<Offsets> {
        let o = self.offsets()?;
        if o.total != len {
            return Err(Error::Input(format!(
                "a message's arrays need {} bytes but {len} came",
                o.total
            )));
        }
        Ok(o)
    }
}

/// Where each array of [`ArrayLens`] starts in a message's buffer, and its length in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Offsets {
    pub f64: Vec<usize>,
    pub f32: Vec<usize>,
    pub u8: Vec<usize>,
    pub total: usize,
}

/// The numbers a message carries, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Arrays {
    pub f64: Vec<Vec<f64>>,
    pub f32: Vec<Vec<f32>>,
    pub u8: Vec<Vec<u8>>,
}

impl Arrays {
    pub fn lens(&self) -> ArrayLens {
        ArrayLens {
            f64: self.f64.iter().map(Vec::len).collect(),
            f32: self.f32.iter().map(Vec::len).collect(),
            u8: self.u8.iter().map(Vec::len).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.f64.is_empty() && self.f32.is_empty() && self.u8.is_empty()
    }

    /// The buffer's bytes (little-endian, the layout of [`ArrayLens::offsets`]). The page
    /// copies through typed-array views instead; this is the reference layout and the tests'.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for a in &self.f64 {
            out.extend(a.iter().flat_map(|v| v.to_le_bytes()));
        }
        for a in &self.f32 {
            out.extend(a.iter().flat_map(|v| v.to_le_bytes()));
        }
        for a in &self.u8 {
            out.extend_from_slice(a);
        }
        out
    }

    pub fn from_bytes(lens: &ArrayLens, bytes: &[u8]) -> Result<Self> {
        let Offsets {
            f64: o64,
            f32: o32,
            u8: o8,
            ..
        } = lens.offsets_for(bytes.len())?;
        let f64 = o64
            .iter()
            .zip(&lens.f64)
            .map(|(&o, &n)| {
                bytes[o..o + 8 * n]
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect()
            })
            .collect();
        let f32 = o32
            .iter()
            .zip(&lens.f32)
            .map(|(&o, &n)| {
                bytes[o..o + 4 * n]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                    .collect()
            })
            .collect();
        let u8 = o8
            .iter()
            .zip(&lens.u8)
            .map(|(&o, &n)| bytes[o..o + n].to_vec())
            .collect();
        Ok(Self { f64, f32, u8 })
    }
}

/// Takes arrays off the front of [`Arrays`], in the order they were pushed.
pub struct Reader {
    f64: std::vec::IntoIter<Vec<f64>>,
    f32: std::vec::IntoIter<Vec<f32>>,
    u8: std::vec::IntoIter<Vec<u8>>,
}

impl Reader {
    pub fn new(a: Arrays) -> Self {
        Self {
            f64: a.f64.into_iter(),
            f32: a.f32.into_iter(),
            u8: a.u8.into_iter(),
        }
    }

    fn short() -> Error {
        Error::Input("the inference worker sent fewer arrays than its message lists".into())
    }

    pub fn f64(&mut self) -> Result<Vec<f64>> {
        self.f64.next().ok_or_else(Self::short)
    }

    pub fn f32(&mut self) -> Result<Vec<f32>> {
        self.f32.next().ok_or_else(Self::short)
    }

    pub fn u8(&mut self) -> Result<Vec<u8>> {
        self.u8.next().ok_or_else(Self::short)
    }

    /// A tensor of `shape` from the next `f32` array.
    pub fn tensor(&mut self, shape: &[usize]) -> Result<Tensor> {
        let data = self.f32()?;
        if shape.iter().product::<usize>() != data.len() {
            return Err(Error::Input(format!(
                "the inference worker sent {} values for a tensor of shape {shape:?}",
                data.len()
            )));
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }
}

/// An [`ImageReport`]'s sizes and names; its numbers go in the [`Arrays`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportHead {
    pub input_size: [usize; 2],
    pub grid: [usize; 2],
    pub dim: usize,
    pub tokens: usize,
    /// Per prediction: class and name (its probability and logit are arrays).
    pub top5: Vec<(usize, String)>,
    /// Heads per layer (the CLS rows of layer l are the next `heads[l]` arrays).
    pub heads: Vec<usize>,
}

/// Moves `r`'s numbers into `a` (in [`unpack_report`]'s order) and returns the rest.
pub fn pack_report(r: ImageReport, a: &mut Arrays) -> ReportHead {
    a.f64.push(
        r.layers
            .iter()
            .flat_map(|s| [s.rc_in, s.rc_out, s.sparsity])
            .collect(),
    );
    a.f64.push(r.top5.iter().map(|p| p.prob).collect());
    a.f32.push(r.top5.iter().map(|p| p.logit).collect());
    a.f32.push(r.logits);
    let heads = r.cls.iter().map(Vec::len).collect();
    for layer in r.cls {
        a.f32.extend(layer);
    }
    a.f32.extend(r.zout);
    a.f32.extend(r.rollout);
    ReportHead {
        input_size: r.input_size,
        grid: r.grid,
        dim: r.dim,
        tokens: r.tokens,
        top5: r.top5.into_iter().map(|p| (p.class, p.name)).collect(),
        heads,
    }
}

pub fn unpack_report(h: ReportHead, a: &mut Reader) -> Result<ImageReport> {
    let depth = h.heads.len();
    let stats = a.f64()?;
    if stats.len() != 3 * depth {
        return Err(Error::Input(
            "the inference worker sent measures for another number of layers".into(),
        ));
    }
    let layers = stats
        .chunks_exact(3)
        .map(|s| LayerStats {
            rc_in: s[0],
            rc_out: s[1],
            sparsity: s[2],
        })
        .collect();
    let probs = a.f64()?;
    let top_logits = a.f32()?;
    if probs.len() != h.top5.len() || top_logits.len() != h.top5.len() {
        return Err(Error::Input(
            "the inference worker sent a malformed top-5".into(),
        ));
    }
    let top5 = h
        .top5
        .into_iter()
        .zip(probs.into_iter().zip(top_logits))
        .map(|((class, name), (prob, logit))| Prediction {
            class,
            name,
            prob,
            logit,
        })
        .collect();
    let logits = a.f32()?;
    let cls = h
        .heads
        .iter()
        .map(|&k| (0..k).map(|_| a.f32()).collect::<Result<Vec<_>>>())
        .collect::<Result<Vec<_>>>()?;
    let zout = (0..depth).map(|_| a.f32()).collect::<Result<Vec<_>>>()?;
    let rollout = (0..depth).map(|_| a.f32()).collect::<Result<Vec<_>>>()?;
    Ok(ImageReport {
        input_size: h.input_size,
        grid: h.grid,
        dim: h.dim,
        tokens: h.tokens,
        logits,
        top5,
        layers,
        cls,
        zout,
        rollout,
    })
}

/// A [`Trace`]'s tensor shapes, per layer: z, zhalf, zout, proj_in, proj_half.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceHead {
    pub layers: Vec<[Vec<usize>; 5]>,
}

/// Moves `t`'s tensors into `a`. Attention probabilities stay behind: the page's views read
/// the CLS rows and the rollout from the report, never a trace's attention (at 785 tokens they
/// would add 177 MB to copy).
pub fn pack_trace(t: Trace, a: &mut Arrays) -> TraceHead {
    let layers = t
        .layers
        .into_iter()
        .map(|l| {
            let shapes = [
                l.z.shape,
                l.zhalf.shape,
                l.zout.shape,
                l.proj_in.shape,
                l.proj_half.shape,
            ];
            a.f32.extend([
                l.z.data,
                l.zhalf.data,
                l.zout.data,
                l.proj_in.data,
                l.proj_half.data,
            ]);
            shapes
        })
        .collect();
    TraceHead { layers }
}

pub fn unpack_trace(h: &TraceHead, a: &mut Reader) -> Result<Trace> {
    let layers = h
        .layers
        .iter()
        .map(|s| {
            Ok(LayerTrace {
                z: a.tensor(&s[0])?,
                zhalf: a.tensor(&s[1])?,
                zout: a.tensor(&s[2])?,
                proj_in: a.tensor(&s[3])?,
                proj_half: a.tensor(&s[4])?,
                attn: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Trace { layers })
}

/// `[image][layer]` measures as one `f64` array.
pub fn pack_stats(stats: &[Vec<LayerStats>], a: &mut Arrays) -> (usize, usize) {
    let layers = stats.first().map_or(0, Vec::len);
    a.f64.push(
        stats
            .iter()
            .flatten()
            .flat_map(|s| [s.rc_in, s.rc_out, s.sparsity])
            .collect(),
    );
    (stats.len(), layers)
}

pub fn unpack_stats(images: usize, layers: usize, a: &mut Reader) -> Result<Vec<Vec<LayerStats>>> {
    let v = a.f64()?;
    if v.len() != images * layers * 3 {
        return Err(Error::Input(
            "the inference worker sent measures of another size".into(),
        ));
    }
    Ok(v.chunks_exact(3 * layers.max(1))
        .take(images)
        .map(|img| {
            img.chunks_exact(3)
                .map(|s| LayerStats {
                    rc_in: s[0],
                    rc_out: s[1],
                    sparsity: s[2],
                })
                .collect()
        })
        .collect())
}

/// A batch of images as a shape and one `f32` array.
pub fn pack_images(images: &[Tensor], a: &mut Arrays) -> Result<[usize; 4]> {
    let first = images
        .first()
        .ok_or_else(|| Error::Input("no images to run".into()))?;
    let [c, h, w] = match first.shape[..] {
        [c, h, w] => [c, h, w],
        _ => return Err(Error::Input("an image is not (C, H, W)".into())),
    };
    if images.iter().any(|t| t.shape != first.shape) {
        return Err(Error::Input("the images of a batch differ in size".into()));
    }
    a.f32
        .push(images.iter().flat_map(|t| t.data.iter().copied()).collect());
    Ok([images.len(), c, h, w])
}

/// PCA colours (three per patch) as one `f32` array, and back.
pub fn pack_colors(colors: &[[f32; 3]], a: &mut Arrays) {
    a.f32.push(colors.iter().flatten().copied().collect());
}

pub fn unpack_colors(a: &mut Reader) -> Result<Vec<[f32; 3]>> {
    let v = a.f32()?;
    if v.len() % 3 != 0 {
        return Err(Error::Input(
            "the inference worker sent colours that are not RGB triples".into(),
        ));
    }
    Ok(v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
}

/// A [`Prepared`]'s sizes; the input goes in `f32`, the pictures' RGBA bytes in `u8`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedHead {
    pub shape: [usize; 3],
    /// (width, height) of the base picture and of the thumbnail, when there is a display.
    pub display: Option<[[u32; 2]; 2]>,
}

pub fn pack_prepared(p: Prepared, a: &mut Arrays) -> Result<PreparedHead> {
    let shape = match p.input.shape[..] {
        [c, h, w] => [c, h, w],
        _ => return Err(Error::Input("an image is not (C, H, W)".into())),
    };
    a.f32.push(p.input.data);
    let display = p.display.map(|d| {
        let sizes = [
            [d.base.width, d.base.height],
            [d.thumb.width, d.thumb.height],
        ];
        a.u8.push(d.base.data);
        a.u8.push(d.thumb.data);
        sizes
    });
    Ok(PreparedHead { shape, display })
}

pub fn unpack_prepared(h: &PreparedHead, a: &mut Reader) -> Result<Prepared> {
    let input = a.tensor(&h.shape)?;
    let mut picture = |[width, height]: [u32; 2]| {
        let data = a.u8()?;
        if data.len() != width as usize * height as usize * 4 {
            return Err(Error::Input(format!(
                "the inference worker sent {} bytes for a {width}×{height} picture",
                data.len()
            )));
        }
        Ok(Rgba8Image {
            width,
            height,
            data,
        })
    };
    let display = match h.display {
        Some([b, t]) => Some(Display {
            base: picture(b)?,
            thumb: picture(t)?,
        }),
        None => None,
    };
    Ok(Prepared { input, display })
}

/// The images of [`pack_images`], one tensor each.
pub fn unpack_images(shape: [usize; 4], a: &mut Reader) -> Result<Vec<Tensor>> {
    let all = a.tensor(&shape)?;
    let per = shape[1] * shape[2] * shape[3];
    Ok((0..shape[0])
        .map(|i| Tensor {
            shape: shape[1..].to_vec(),
            data: all.data[i * per..(i + 1) * per].to_vec(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::image_reports;
    use crate::selftest::traced_selftest;

    fn through_bytes(a: &Arrays) -> Reader {
        let lens: ArrayLens = decode(&encode(&a.lens())).unwrap();
        Reader::new(Arrays::from_bytes(&lens, &a.to_bytes()).unwrap())
    }

    #[test]
    fn offsets_align_each_kind() {
        let lens = ArrayLens {
            f64: vec![3, 0, 1],
            f32: vec![1, 5],
            u8: vec![],
        };
        let o = lens.offsets().unwrap();
        assert_eq!(o.f64, vec![0, 24, 24]);
        assert_eq!(o.f32, vec![32, 36]);
        assert_eq!(o.total, 56);
        let bytes = ArrayLens {
            u8: vec![3, 1],
            ..lens
        }
        .offsets()
        .unwrap();
        assert_eq!((bytes.u8, bytes.total), (vec![56, 59], 60));
        assert!(ArrayLens {
            f64: vec![usize::MAX / 4],
            ..Default::default()
        }
        .offsets()
        .is_err());
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let a = Arrays {
            f64: vec![vec![1.0]],
            f32: vec![vec![2.0, 3.0]],
            u8: vec![vec![4]],
        };
        let bytes = a.to_bytes();
        assert!(Arrays::from_bytes(&a.lens(), &bytes[..bytes.len() - 1]).is_err());
        let mut r = Reader::new(a);
        assert!(r.tensor(&[3]).is_err());
        assert!(r.f32().is_err());
        assert_eq!(r.u8().unwrap(), vec![4]);
        assert!(r.u8().is_err());
    }

    /// A report and its trace cross the wire bit for bit (NaN-free numbers compared exactly,
    /// including the f64 measures JSON could round).
    #[test]
    fn report_trace_and_stats_cross_unchanged() {
        let (cfg, _, input, out) = traced_selftest();
        let size = [input.shape[2], input.shape[3]];
        let report = image_reports(&cfg, &out, size).unwrap().remove(0);
        let trace = out.trace.clone().unwrap();
        let stats = crate::analysis::layer_stats(&trace, cfg.heads);

        let mut a = Arrays::default();
        let rh = pack_report(report.clone(), &mut a);
        let th = pack_trace(trace.clone(), &mut a);
        let (images, layers) = pack_stats(&stats, &mut a);
        let rh: ReportHead = decode(&encode(&rh)).unwrap();
        let th: TraceHead = decode(&encode(&th)).unwrap();
        let mut r = through_bytes(&a);
        assert_eq!(unpack_report(rh, &mut r).unwrap(), report);
        let back = unpack_trace(&th, &mut r).unwrap();
        assert_eq!(back.layers.len(), trace.layers.len());
        for (b, t) in back.layers.iter().zip(&trace.layers) {
            assert_eq!(
                (&b.z, &b.zhalf, &b.zout, &b.proj_in, &b.proj_half),
                (&t.z, &t.zhalf, &t.zout, &t.proj_in, &t.proj_half)
            );
            assert!(b.attn.is_none());
        }
        assert_eq!(unpack_stats(images, layers, &mut r).unwrap(), stats);
        let colors = crate::analysis::pca_rgb(&report.zout[0], report.tokens, report.dim);
        let mut c = Arrays::default();
        pack_colors(&colors, &mut c);
        assert_eq!(unpack_colors(&mut through_bytes(&c)).unwrap(), colors);
        assert!(r.f32().is_err(), "every array was read");
    }

    #[test]
    fn images_and_messages_round_trip() {
        let imgs = vec![
            Tensor {
                shape: vec![1, 2, 2],
                data: vec![0.1, -2.0, 3.5, f32::MIN_POSITIVE],
            },
            Tensor {
                shape: vec![1, 2, 2],
                data: vec![1.0, 2.0, 3.0, 4.0],
            },
        ];
        let mut a = Arrays::default();
        let shape = pack_images(&imgs, &mut a).unwrap();
        assert_eq!(shape, [2, 1, 2, 2]);
        assert_eq!(unpack_images(shape, &mut through_bytes(&a)).unwrap(), imgs);
        let prepared = Prepared {
            input: imgs[0].clone(),
            display: Some(Display {
                base: Rgba8Image {
                    width: 2,
                    height: 1,
                    data: vec![1, 2, 3, 255, 4, 5, 6, 255],
                },
                thumb: Rgba8Image {
                    width: 1,
                    height: 1,
                    data: vec![7, 8, 9, 255],
                },
            }),
        };
        let mut p = Arrays::default();
        let head: PreparedHead =
            decode(&encode(&pack_prepared(prepared.clone(), &mut p).unwrap())).unwrap();
        assert_eq!(head.shape, [1, 2, 2]);
        assert_eq!(
            unpack_prepared(&head, &mut through_bytes(&p)).unwrap(),
            prepared
        );
        let wrong = PreparedHead {
            display: Some([[2, 2], [1, 1]]),
            ..head
        };
        assert!(unpack_prepared(&wrong, &mut through_bytes(&p)).is_err());
        let odd = [imgs[0].clone(), Tensor::zeros(&[1, 2, 3])];
        assert!(pack_images(&odd, &mut Arrays::default()).is_err());

        let req = Request {
            req: 7,
            rt: 2,
            cmd: ToInfer::Analyse {
                shape: [3, 224, 224],
                which: Which::Gpu,
                trace: false,
                keep: Some(9),
            },
            arrays: a.lens(),
        };
        assert_eq!(decode::<Request>(&encode(&req)).unwrap(), req);
        let state = GpuState::Ready {
            adapter: "SwiftShader".into(),
            software: true,
        };
        let reply = FromInfer::Reply {
            req: 7,
            gpu: (&state).into(),
            has_gpu: true,
            arrays: ArrayLens::default(),
            body: Body::Failed {
                message: "x".into(),
            },
            marks: vec![("gpu: device".into(), 12.5)],
        };
        let back: FromInfer = decode(&encode(&reply)).unwrap();
        assert_eq!(back, reply);
        let FromInfer::Reply { gpu, .. } = back else {
            unreachable!()
        };
        assert_eq!(GpuState::from(gpu), state);
        let starting = GpuWire::from(&GpuState::Starting);
        assert_eq!(
            GpuState::from(decode::<GpuWire>(&encode(&starting)).unwrap()),
            GpuState::Starting
        );
        let wait = ToInfer::AwaitGpu;
        assert_eq!(decode::<ToInfer>(&encode(&wait)).unwrap(), wait);
        assert_eq!(
            decode::<FromInfer>(r#"{"event":"ready"}"#).unwrap(),
            FromInfer::Ready
        );
    }
}
