//! Data-parallel steps: a batch split into shards whose gradients are computed apart (the page's
//! training worker and a helper worker, each on its own core) and added before one optimiser
//! update.
//!
//! A shard's loss and gradients are its share of the whole batch's: the cross-entropy is summed
//! over the shard's images and divided by the *batch's* size ([`crate::grad::loss::cross_entropy_over`]),
//! so the shards' losses and gradients add up to the batch's mean loss and its gradient — the
//! same numbers as one pass over the batch, up to the order of the additions.
//!
//! A [`ShardJob`] travels to the helper as bytes and its [`Shard`] comes back as bytes: the
//! helper keeps no state, so it can be started, lost or replaced between any two steps.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::grad::{self, ParamSet};
use crate::model::CrateConfig;

/// What a helper needs to compute one shard: the model, the weights of this step, the shard's
/// images (normalised, (n, C, H, W)) and labels, the label smoothing and the batch's size.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardJob {
    pub config: CrateConfig,
    pub params: ParamSet<f32>,
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    pub smoothing: f32,
    /// Images in the whole batch: the divisor of the shard's summed loss.
    pub batch: usize,
}

/// One shard's part of a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    /// The shard's summed loss divided by the batch's size.
    pub loss: f32,
    /// Images of the shard classified right (before the update).
    pub correct: usize,
    pub images: usize,
    /// Gradients of `loss`.
    pub grads: ParamSet<f32>,
}

const JOB_MAGIC: &[u8; 8] = b"WBSHJOB1";
const SHARD_MAGIC: &[u8; 8] = b"WBSHARD1";
/// Largest JSON header of either message (a config and a batch's labels).
const MAX_HEADER: usize = 1 << 20;

#[derive(Serialize, Deserialize)]
struct JobHeader {
    config: CrateConfig,
    labels: Vec<usize>,
    smoothing: f32,
    batch: usize,
}

#[derive(Serialize, Deserialize)]
struct ShardHeader {
    loss: f32,
    correct: usize,
    images: usize,
}

impl ShardJob {
    /// The shard's loss and gradients.
    pub fn compute(&self) -> Result<Shard> {
        compute(
            &self.config,
            &self.params,
            &self.images,
            &self.labels,
            self.smoothing,
            self.batch,
        )
    }

    /// The job as one message: magic, header length, JSON header, then the weights (in the
    /// set's key order) and the images as little-endian f32.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = serde_json::to_vec(&JobHeader {
            config: self.config.clone(),
            labels: self.labels.clone(),
            smoothing: self.smoothing,
            batch: self.batch,
        })
        .map_err(|e| Error::Input(format!("a shard job's header: {e}")))?;
        let arrays = self.params.tensors.values().map(|a| &a.data[..]);
        Ok(write_message(
            JOB_MAGIC,
            &header,
            arrays.chain([&self.images[..]]),
        ))
    }

    /// A job from [`ShardJob::to_bytes`]; every length is checked against the config.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (h, rest): (JobHeader, _) = read_header(bytes, JOB_MAGIC, "shard job")?;
        h.config.validate()?;
        let mut params = ParamSet::<f32>::zeros(&h.config);
        let [hh, ww] = h.config.image;
        let per = h.config.channels * hh * ww;
        let mut images = vec![0.0; h.labels.len() * per];
        let arrays = params.tensors.values_mut().map(|a| &mut a.data[..]);
        read_arrays(rest, arrays.chain([&mut images[..]]), "shard job")?;
        Ok(Self {
            config: h.config,
            params,
            images,
            labels: h.labels,
            smoothing: h.smoothing,
            batch: h.batch,
        })
    }
}

impl Shard {
    /// The shard as one message: magic, header length, JSON header, gradients as f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&ShardHeader {
            loss: self.loss,
            correct: self.correct,
            images: self.images,
        })
        .expect("numbers serialise");
        let arrays = self.grads.tensors.values().map(|a| &a.data[..]);
        write_message(SHARD_MAGIC, &header, arrays)
    }

    /// A shard from [`Shard::to_bytes`] for the model `cfg`.
    pub fn from_bytes(cfg: &CrateConfig, bytes: &[u8]) -> Result<Self> {
        let (h, rest): (ShardHeader, _) = read_header(bytes, SHARD_MAGIC, "shard")?;
        let mut grads = ParamSet::<f32>::zeros(cfg);
        let arrays = grads.tensors.values_mut().map(|a| &mut a.data[..]);
        read_arrays(rest, arrays, "shard")?;
        Ok(Self {
            loss: h.loss,
            correct: h.correct,
            images: h.images,
            grads,
        })
    }
}

/// One shard's loss and gradients: `images` (n, C, H, W) normalised, `labels` (n), part of a
/// batch of `batch` images.
pub fn compute(
    cfg: &CrateConfig,
    params: &ParamSet<f32>,
    images: &[f32],
    labels: &[usize],
    smoothing: f32,
    batch: usize,
) -> Result<Shard> {
    let n = labels.len();
    if n == 0 || n > batch {
        return Err(Error::Input(format!(
            "a shard of {n} images of a batch of {batch}"
        )));
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= cfg.classes) {
        return Err(Error::Input(format!(
            "label {l} is not below the {} classes",
            cfg.classes
        )));
    }
    let (logits, cache) = grad::forward(cfg, params, images, n)?;
    let (loss, dlogits) =
        grad::loss::cross_entropy_over(&logits, cfg.classes, labels, smoothing, batch);
    let grads = grad::backward(cfg, params, &cache, &dlogits);
    Ok(Shard {
        loss,
        correct: count_correct(&logits, cfg.classes, labels),
        images: n,
        grads,
    })
}

/// The shards added in order: the batch's (loss, correct, images, gradients).
pub fn combine(shards: Vec<Shard>) -> Result<Shard> {
    let mut it = shards.into_iter();
    let mut total = it
        .next()
        .ok_or_else(|| Error::Input("a step with no shards".into()))?;
    for s in it {
        total.loss += s.loss;
        total.correct += s.correct;
        total.images += s.images;
        for (k, a) in total.grads.tensors.iter_mut() {
            let b = s
                .grads
                .tensors
                .get(k)
                .filter(|b| b.data.len() == a.data.len())
                .ok_or_else(|| Error::Input(format!("the shards' gradients differ at {k}")))?;
            for (x, &y) in a.data.iter_mut().zip(&b.data) {
                *x += y;
            }
        }
    }
    Ok(total)
}

/// Images whose largest logit is their label's.
pub fn count_correct(logits: &[f32], classes: usize, labels: &[usize]) -> usize {
    labels
        .iter()
        .enumerate()
        .filter(|&(i, &l)| super::trainer::argmax(&logits[i * classes..(i + 1) * classes]) == l)
        .count()
}

/// The two parts of a batch of `n`: the first half (the larger one) and the rest.
pub fn halves(n: usize) -> [std::ops::Range<usize>; 2] {
    let h = n.div_ceil(2);
    [0..h, h..n]
}

/// One message: `magic`, the header's length (u32, little-endian), the JSON `header`, then
/// `arrays` as little-endian f32, one after another.
fn write_message<'a>(
    magic: &[u8; 8],
    header: &[u8],
    arrays: impl Iterator<Item = &'a [f32]> + Clone,
) -> Vec<u8> {
    let floats: usize = arrays.clone().map(|a| a.len()).sum();
    let mut out = Vec::with_capacity(12 + header.len() + 4 * floats);
    out.extend_from_slice(magic);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    for a in arrays {
        out.extend_from_slice(bytemuck::cast_slice(a));
    }
    out
}

/// The JSON header of a [`write_message`] message and the bytes after it.
fn read_header<'a, H: serde::de::DeserializeOwned>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    what: &str,
) -> Result<(H, &'a [u8])> {
    if bytes.len() < 12 || &bytes[..8] != magic {
        return Err(Error::Input(format!("this is not a {what} message")));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    if len > MAX_HEADER || bytes.len() < 12 + len {
        return Err(Error::Input(format!("a {what} message is cut short")));
    }
    let header = serde_json::from_slice(&bytes[12..12 + len])
        .map_err(|e| Error::Input(format!("a {what} message's header: {e}")))?;
    Ok((header, &bytes[12 + len..]))
}

/// Fills `arrays` from the f32 data of a message, which must hold exactly that many.
fn read_arrays<'a>(
    mut bytes: &[u8],
    arrays: impl Iterator<Item = &'a mut [f32]>,
    what: &str,
) -> Result<()> {
    for into in arrays {
        let n = 4 * into.len();
        if bytes.len() < n {
            return Err(Error::Input(format!(
                "a {what} message is cut short in its data: {} bytes where {n} are needed",
                bytes.len()
            )));
        }
        bytemuck::cast_slice_mut::<f32, u8>(into).copy_from_slice(&bytes[..n]);
        bytes = &bytes[n..];
    }
    if !bytes.is_empty() {
        return Err(Error::Input(format!(
            "a {what} message has {} bytes more than its header says",
            bytes.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::init_params;

    fn job(n: usize, batch: usize) -> ShardJob {
        let mut config = CrateConfig::preset("crate-tiny").unwrap();
        config.classes = 3;
        let params = ParamSet::from_params(&init_params(&config, 7).unwrap());
        let [h, w] = config.image;
        let images = crate::rng::uniform(3, "shard", n * config.channels * h * w, 1.0);
        let labels = (0..n).map(|i| i % 3).collect();
        ShardJob {
            config,
            params,
            images,
            labels,
            smoothing: 0.1,
            batch,
        }
    }

    fn max_rel(a: &ParamSet<f32>, b: &ParamSet<f32>) -> f32 {
        let (mut d, mut s) = (0.0f32, 0.0f32);
        for (k, x) in &a.tensors {
            for (u, v) in x.data.iter().zip(&b.tensors[k].data) {
                d = d.max((u - v).abs());
                s = s.max(v.abs());
            }
        }
        d / s
    }

    #[test]
    fn two_halves_add_up_to_the_whole_batch() {
        let whole = job(6, 6);
        let full = whole.compute().unwrap();
        let parts: Vec<Shard> = halves(6)
            .into_iter()
            .map(|r| {
                let per = whole.images.len() / 6;
                ShardJob {
                    images: whole.images[r.start * per..r.end * per].to_vec(),
                    labels: whole.labels[r.clone()].to_vec(),
                    ..whole.clone()
                }
                .compute()
                .unwrap()
            })
            .collect();
        let sum = combine(parts).unwrap();
        assert_eq!((sum.images, sum.correct), (full.images, full.correct));
        assert!(
            (sum.loss - full.loss).abs() <= 1e-6 * full.loss.abs(),
            "{} vs {}",
            sum.loss,
            full.loss
        );
        assert!(max_rel(&sum.grads, &full.grads) < 1e-5);
        // And the whole batch is what one ordinary pass computes.
        let step = grad::loss_and_grads(
            &whole.config,
            &whole.params,
            &whole.images,
            &whole.labels,
            whole.smoothing,
        )
        .unwrap();
        assert_eq!(step.loss, full.loss);
        assert_eq!(step.grads, full.grads);
    }

    #[test]
    fn jobs_and_shards_survive_the_trip_as_bytes() {
        let j = job(3, 8);
        let back = ShardJob::from_bytes(&j.to_bytes().unwrap()).unwrap();
        assert_eq!(back, j);
        let s = j.compute().unwrap();
        assert_eq!(Shard::from_bytes(&j.config, &s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn damaged_messages_are_refused_with_a_sentence() {
        let j = job(2, 4);
        let bytes = j.to_bytes().unwrap();
        for cut in [0, 5, 11, 40, bytes.len() - 1] {
            assert!(ShardJob::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(ShardJob::from_bytes(&long).is_err());
        let s = j.compute().unwrap().to_bytes();
        assert!(Shard::from_bytes(&j.config, &s[..s.len() - 4]).is_err());
        assert!(
            Shard::from_bytes(&j.config, &bytes).is_err(),
            "a job is not a shard"
        );
        // A label past the classes and a shard larger than its batch.
        let mut bad = j.clone();
        bad.labels[0] = 3;
        assert!(bad.compute().is_err());
        assert!(ShardJob { batch: 1, ..j }.compute().is_err());
    }
}
