//! The model's weights as one typed structure: [`Weights<T>`] holds the embedding, one
//! [`LayerWeights`] per layer (its [`MssaWeights`] and [`IstaWeights`]) and the head, each field
//! a `T`. The same shape serves every engine and every use:
//!
//! - `Weights<Slot>` ([`Weights::spec`]): each parameter's official key, shape and decay policy —
//!   the ONLY place outside `model::io` that spells the official state-dict keys;
//! - `Weights<&[f32]>` ([`Weights::view`]): host slices for the CPU engine and the reference
//!   backward (`Weights<&[T]>` / `Weights<&mut [T]>` for any float type through
//!   [`Weights::lookup`]);
//! - `Weights<wgpu::Buffer>`: the GPU engine's and the GPU trainer's device copies;
//! - gradients, optimiser moments and gradient offsets: `Weights<Vec<T>>`, `Weights<usize>`.
//!
//! Field order is the official order ([`Weights::into_vec`]), which is also the order of
//! [`super::params::expected_shapes`].

use crate::error::{Error, Result};
use crate::model::config::CrateConfig;
use crate::model::params::Params;

macro_rules! weight_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name<T> {
            $($(#[$fmeta])* pub $field: T,)*
        }

        impl<T> $name<T> {
            /// Applies `f` to every field, in field order.
            pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> $name<U> {
                $name { $($field: f(self.$field),)* }
            }

            pub fn as_ref(&self) -> $name<&T> {
                $name { $($field: &self.$field,)* }
            }

            pub fn as_mut(&mut self) -> $name<&mut T> {
                $name { $($field: &mut self.$field,)* }
            }

            fn push_into(self, out: &mut Vec<T>) {
                $(out.push(self.$field);)*
            }

            fn pull(it: &mut impl Iterator<Item = T>) -> Option<Self> {
                Some($name { $($field: it.next()?,)* })
            }
        }
    };
}

weight_struct!(
    /// The patch embedding: `LN_P` → Linear → `LN_d`, then the CLS token and positions.
    EmbedWeights {
        /// `to_patch_embedding.1` (P).
        ln1_w,
        ln1_b,
        /// `to_patch_embedding.2` (d, P) and its bias (d).
        w,
        b,
        /// `to_patch_embedding.3` (d).
        ln2_w,
        ln2_b,
        /// `cls_token` (1, 1, d).
        cls,
        /// `pos_embedding` (1, N, d) at the training grid.
        pos,
    }
);

weight_struct!(
    /// One MSSA block: its pre-norm, the subspace bases `U` (d, d) and the output projection.
    MssaWeights {
        norm_w,
        norm_b,
        /// `U`: rows `k*dh .. (k+1)*dh` are head k's basis.
        qkv,
        out_w,
        out_b,
    }
);

weight_struct!(
    /// One ISTA block: its pre-norm and the dictionary `D` (d, d).
    IstaWeights {
        norm_w,
        norm_b,
        dict,
    }
);

/// One CRATE layer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LayerWeights<T> {
    pub mssa: MssaWeights<T>,
    pub ista: IstaWeights<T>,
}

impl<T> LayerWeights<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> LayerWeights<U> {
        LayerWeights {
            mssa: self.mssa.map(&mut f),
            ista: self.ista.map(f),
        }
    }

    pub fn as_ref(&self) -> LayerWeights<&T> {
        LayerWeights {
            mssa: self.mssa.as_ref(),
            ista: self.ista.as_ref(),
        }
    }

    pub fn as_mut(&mut self) -> LayerWeights<&mut T> {
        LayerWeights {
            mssa: self.mssa.as_mut(),
            ista: self.ista.as_mut(),
        }
    }
}

/// The classification head: LN of the CLS token, `mlp_head.1`, and for the segmentation demo
/// variant an extra `head` Linear.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HeadWeights<T> {
    pub ln_w: T,
    pub ln_b: T,
    /// `mlp_head.1` (out1, d) and its bias.
    pub w1: T,
    pub b1: T,
    /// The extra `head` Linear (classes, out1) and its bias, when the model has one.
    pub w2: Option<(T, T)>,
}

impl<T> HeadWeights<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> HeadWeights<U> {
        let (ln_w, ln_b, w1, b1) = (f(self.ln_w), f(self.ln_b), f(self.w1), f(self.b1));
        HeadWeights {
            ln_w,
            ln_b,
            w1,
            b1,
            w2: self.w2.map(|(w, b)| (f(w), f(b))),
        }
    }

    pub fn as_ref(&self) -> HeadWeights<&T> {
        HeadWeights {
            ln_w: &self.ln_w,
            ln_b: &self.ln_b,
            w1: &self.w1,
            b1: &self.b1,
            w2: self.w2.as_ref().map(|(w, b)| (w, b)),
        }
    }

    pub fn as_mut(&mut self) -> HeadWeights<&mut T> {
        HeadWeights {
            ln_w: &mut self.ln_w,
            ln_b: &mut self.ln_b,
            w1: &mut self.w1,
            b1: &mut self.b1,
            w2: self.w2.as_mut().map(|(w, b)| (w, b)),
        }
    }
}

/// Every weight of a CRATE model, one `T` each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights<T> {
    pub embed: EmbedWeights<T>,
    pub layers: Vec<LayerWeights<T>>,
    pub head: HeadWeights<T>,
}

/// What [`Weights::spec`] holds per parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The official state-dict key.
    pub key: String,
    pub shape: Vec<usize>,
    /// Whether the optimiser applies weight decay to it (see [`decays`]).
    pub decay: bool,
}

impl Slot {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Whether a parameter is weight-decayed: matrices (the patch-embedding, MSSA, ISTA and head
/// weights) are; LayerNorm weights and biases, biases, `cls_token` and `pos_embedding` are not,
/// as in ViT training. Every LayerNorm weight and every bias is 1-D, every decayed weight 2-D.
pub fn decays(key: &str, shape: &[usize]) -> bool {
    shape.len() >= 2 && key != "cls_token" && key != "pos_embedding" && !key.ends_with("bias")
}

fn slot(key: String, shape: Vec<usize>) -> Slot {
    let decay = decays(&key, &shape);
    Slot { key, shape, decay }
}

impl Weights<Slot> {
    /// Every parameter a model with this config has: official key, shape and decay.
    pub fn spec(cfg: &CrateConfig) -> Self {
        let d = cfg.dim;
        let pl = cfg.patch_len();
        let s = |k: &str, shape: Vec<usize>| slot(k.to_string(), shape);
        let embed = EmbedWeights {
            ln1_w: s("to_patch_embedding.1.weight", vec![pl]),
            ln1_b: s("to_patch_embedding.1.bias", vec![pl]),
            w: s("to_patch_embedding.2.weight", vec![d, pl]),
            b: s("to_patch_embedding.2.bias", vec![d]),
            ln2_w: s("to_patch_embedding.3.weight", vec![d]),
            ln2_b: s("to_patch_embedding.3.bias", vec![d]),
            cls: s("cls_token", vec![1, 1, d]),
            pos: s("pos_embedding", vec![1, cfg.tokens(), d]),
        };
        let layers = (0..cfg.depth)
            .map(|l| {
                let s = |rest: &str, shape: Vec<usize>| {
                    slot(format!("transformer.layers.{l}.{rest}"), shape)
                };
                LayerWeights {
                    mssa: MssaWeights {
                        norm_w: s("0.norm.weight", vec![d]),
                        norm_b: s("0.norm.bias", vec![d]),
                        qkv: s("0.fn.qkv.weight", vec![d, d]),
                        out_w: s("0.fn.to_out.0.weight", vec![d, d]),
                        out_b: s("0.fn.to_out.0.bias", vec![d]),
                    },
                    ista: IstaWeights {
                        norm_w: s("1.norm.weight", vec![d]),
                        norm_b: s("1.norm.bias", vec![d]),
                        dict: s("1.fn.weight", vec![d, d]),
                    },
                }
            })
            .collect();
        let out1 = cfg.pre_head_dim.unwrap_or(cfg.classes);
        let head = HeadWeights {
            ln_w: s("mlp_head.0.weight", vec![d]),
            ln_b: s("mlp_head.0.bias", vec![d]),
            w1: s("mlp_head.1.weight", vec![out1, d]),
            b1: s("mlp_head.1.bias", vec![out1]),
            w2: cfg.pre_head_dim.map(|m| {
                (
                    s("head.weight", vec![cfg.classes, m]),
                    s("head.bias", vec![cfg.classes]),
                )
            }),
        };
        Self {
            embed,
            layers,
            head,
        }
    }

    /// The weights of `cfg`, each looked up by its slot (e.g. by official key in a keyed store).
    pub fn lookup<U>(cfg: &CrateConfig, f: impl FnMut(&Slot) -> Result<U>) -> Result<Weights<U>> {
        Self::spec(cfg).as_ref().try_map(f)
    }
}

impl<'a> Weights<&'a [f32]> {
    /// Host slices of `params` (checked: every key of `cfg` present with its shape).
    pub fn view(cfg: &CrateConfig, params: &'a Params) -> Result<Self> {
        Weights::lookup(cfg, |s| {
            let t = params.get(&s.key)?;
            if t.shape != s.shape {
                return Err(Error::Shape {
                    key: s.key.clone(),
                    expected: crate::tensor::shape_str(&s.shape),
                    got: t.shape_str(),
                });
            }
            Ok(t.data.as_slice())
        })
    }
}

impl<T> Weights<T> {
    /// Every field in the official order (embedding, layers, head).
    pub fn into_vec(self) -> Vec<T> {
        let mut out = Vec::new();
        self.embed.push_into(&mut out);
        for l in self.layers {
            l.mssa.push_into(&mut out);
            l.ista.push_into(&mut out);
        }
        let h = self.head;
        out.extend([h.ln_w, h.ln_b, h.w1, h.b1]);
        if let Some((w, b)) = h.w2 {
            out.extend([w, b]);
        }
        out
    }

    /// References to every field, in the official order.
    pub fn iter(&self) -> std::vec::IntoIter<&T> {
        self.as_ref().into_vec().into_iter()
    }

    /// The inverse of [`Weights::into_vec`] for a model of `depth` layers, with or without the
    /// extra head Linear; `None` when `values` has the wrong length.
    pub fn from_vec(depth: usize, extra_head: bool, values: Vec<T>) -> Option<Self> {
        let want = 8 + 8 * depth + 4 + 2 * extra_head as usize;
        if values.len() != want {
            return None;
        }
        let mut it = values.into_iter();
        let embed = EmbedWeights::pull(&mut it)?;
        let mut layers = Vec::with_capacity(depth);
        for _ in 0..depth {
            let mssa = MssaWeights::pull(&mut it)?;
            let ista = IstaWeights::pull(&mut it)?;
            layers.push(LayerWeights { mssa, ista });
        }
        let hw = HeadWeights {
            ln_w: it.next()?,
            ln_b: it.next()?,
            w1: it.next()?,
            b1: it.next()?,
            w2: None,
        };
        let w2 = if extra_head {
            Some((it.next()?, it.next()?))
        } else {
            None
        };
        Some(Self {
            embed,
            layers,
            head: HeadWeights { w2, ..hw },
        })
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Weights<U> {
        Weights {
            embed: self.embed.map(&mut f),
            layers: self.layers.into_iter().map(|l| l.map(&mut f)).collect(),
            head: self.head.map(f),
        }
    }

    /// [`Weights::map`] with a fallible `f`, stopping at the first error.
    pub fn try_map<U>(self, f: impl FnMut(T) -> Result<U>) -> Result<Weights<U>> {
        let (depth, extra) = (self.layers.len(), self.head.w2.is_some());
        let values = self.into_vec().into_iter().map(f).collect::<Result<_>>()?;
        Ok(Weights::from_vec(depth, extra, values).expect("same layout"))
    }

    pub fn as_ref(&self) -> Weights<&T> {
        Weights {
            embed: self.embed.as_ref(),
            layers: self.layers.iter().map(LayerWeights::as_ref).collect(),
            head: self.head.as_ref(),
        }
    }

    pub fn as_mut(&mut self) -> Weights<&mut T> {
        Weights {
            embed: self.embed.as_mut(),
            layers: self.layers.iter_mut().map(LayerWeights::as_mut).collect(),
            head: self.head.as_mut(),
        }
    }

    /// Pairs two weight sets of the same layout field by field.
    pub fn zip<U>(self, other: Weights<U>) -> Weights<(T, U)> {
        let (depth, extra) = (self.layers.len(), self.head.w2.is_some());
        assert_eq!(
            (depth, extra),
            (other.layers.len(), other.head.w2.is_some()),
            "zip of weights of different layouts"
        );
        let values = self.into_vec().into_iter().zip(other.into_vec()).collect();
        Weights::from_vec(depth, extra, values).expect("same layout")
    }
}

impl<T> Weights<Vec<T>> {
    /// Slices of every field (for the reference forward and backward).
    pub fn slices(&self) -> Weights<&[T]> {
        self.as_ref().map(Vec::as_slice)
    }

    /// Mutable slices of every field (gradients accumulated in place).
    pub fn slices_mut(&mut self) -> Weights<&mut [T]> {
        self.as_mut().map(Vec::as_mut_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::expected_shapes;

    #[test]
    fn spec_is_the_official_order_and_round_trips_through_vec() {
        for name in ["crate-fmnist", "crate-t"] {
            let cfg = CrateConfig::preset(name).unwrap();
            let spec = Weights::spec(&cfg);
            let flat: Vec<(String, Vec<usize>)> = spec
                .iter()
                .map(|s| (s.key.clone(), s.shape.clone()))
                .collect();
            assert_eq!(flat, expected_shapes(&cfg));
            let back = Weights::from_vec(cfg.depth, false, spec.clone().into_vec()).unwrap();
            assert_eq!(back, spec);
            assert!(Weights::from_vec(cfg.depth + 1, false, spec.into_vec()).is_none());
        }
    }

    #[test]
    fn extra_head_and_decay_policy() {
        let mut cfg = CrateConfig::preset("crate-fmnist").unwrap();
        cfg.pre_head_dim = Some(cfg.dim);
        let spec = Weights::spec(&cfg);
        let (w, b) = spec.head.w2.clone().unwrap();
        assert_eq!(
            (w.key.as_str(), b.key.as_str()),
            ("head.weight", "head.bias")
        );
        assert!(w.decay && !b.decay);
        assert!(spec.layers[0].mssa.qkv.decay && spec.layers[0].ista.dict.decay);
        assert!(!spec.embed.cls.decay && !spec.embed.pos.decay && !spec.embed.ln1_w.decay);
        for s in spec.iter() {
            let no = s.key.contains("norm")
                || s.key.ends_with("bias")
                || s.key == "cls_token"
                || s.key == "pos_embedding"
                || s.key == "to_patch_embedding.1.weight"
                || s.key == "to_patch_embedding.3.weight"
                || s.key == "mlp_head.0.weight";
            assert_eq!(s.decay, !no, "{}", s.key);
        }
        let n = spec.iter().count();
        assert_eq!(n, expected_shapes(&cfg).len());
        // map visits the fields in the official order
        let mut seen = Vec::new();
        let idx = spec.clone().map(|s| {
            seen.push(s.key.clone());
            seen.len() - 1
        });
        assert_eq!(idx.into_vec(), (0..n).collect::<Vec<_>>());
        assert_eq!(seen, spec.iter().map(|s| s.key.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn view_names_a_missing_or_misshapen_key() {
        let cfg = CrateConfig::preset("crate-fmnist").unwrap();
        let mut p = crate::model::init::init_params(&cfg, 1).unwrap();
        assert!(Weights::view(&cfg, &p).is_ok());
        let key = "transformer.layers.1.1.fn.weight";
        let mut t = p.tensors.remove(key).unwrap();
        let err = Weights::view(&cfg, &p).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
        t.shape = vec![t.numel()];
        p.insert(key, t);
        let err = Weights::view(&cfg, &p).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
}
