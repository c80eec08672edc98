//! Every setting of the Subspace lab, its limits, the presets, and the query-string form (a
//! lesson is a link: the page keeps every setting in the URL with these keys).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The attention non-linearity of the idealised MSSA step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phi {
    /// `softmax_row(S / √q)`, CRATE-SPEC.md's MSSA normalisation (q = the head's dimension).
    Softmax,
    /// `φ(s) = s·1[s ≥ θ]` (identity above θ, zero below), rows rescaled to sum 1; a row with
    /// nothing above θ contributes nothing. θ = `threshold` × the head's mean token energy
    /// `mean_i ‖B_hᵀ z_i‖²`.
    Threshold,
}

/// The dictionary of the optional ISTA step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dictionary {
    /// D = I_d: the step is CRATE's `ReLU(x − ηλ)`.
    Identity,
    /// D = [U_1 … U_K, −U_1 … −U_K] (d × 2Kp): non-negative codes of the true bases, both signs.
    Bases,
}

/// The lab's settings (defaults = the "default" preset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabConfig {
    /// K: number of true subspaces.
    pub k: usize,
    /// p: dimension of each.
    pub p: usize,
    /// d: ambient dimension.
    pub d: usize,
    /// N: tokens.
    pub n: usize,
    /// δ: weight of the other subspaces' components in each token.
    pub delta: f64,
    /// σ: isotropic noise per coordinate.
    pub noise: f64,
    /// Mutually orthogonal bases (K·p ≤ d) or independent random ones.
    pub orthogonal: bool,
    pub seed: u64,
    /// L: unrolled layers.
    pub layers: usize,
    /// η: MSSA step size.
    pub eta: f64,
    pub phi: Phi,
    /// θ over the head's mean token energy, for [`Phi::Threshold`].
    pub threshold: f64,
    /// H: the operator's heads. Head h < K uses the first `head_dim` columns of U_h; heads
    /// h ≥ K get random subspaces (they match nothing in the data).
    pub heads: usize,
    /// The operator's head dimension q ≤ p.
    pub head_dim: usize,
    /// Follow each MSSA step by one ISTA step.
    pub ista: bool,
    pub dictionary: Dictionary,
    /// ISTA step size and sparsity weight (CRATE's defaults 0.1, 0.1).
    pub ista_eta: f64,
    pub lambda: f64,
    /// The subspace whose coordinates the scatter shows.
    pub focus: usize,
    /// Clustering demo: points per group (two lines and a plane in ℝ³) and their noise σ.
    pub cluster_points: usize,
    pub cluster_noise: f64,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            k: 3,
            p: 4,
            d: 16,
            n: 120,
            delta: 0.2,
            noise: 0.05,
            orthogonal: true,
            seed: 1,
            layers: 8,
            eta: 0.5,
            phi: Phi::Threshold,
            threshold: 2.0,
            heads: 3,
            head_dim: 4,
            ista: false,
            dictionary: Dictionary::Bases,
            ista_eta: 0.1,
            lambda: 0.1,
            focus: 0,
            cluster_points: 30,
            cluster_noise: 0.05,
        }
    }
}

/// Upper limits (the page's slider ranges); the lab is meant to run instantly.
pub const MAX_K: usize = 8;
pub const MAX_P: usize = 16;
pub const MAX_D: usize = 64;
pub const MAX_N: usize = 512;
pub const MAX_LAYERS: usize = 32;
pub const MAX_HEADS: usize = 8;
pub const MAX_CLUSTER_POINTS: usize = 100;

/// A preset: its settings and the sentence the page shows beside its button.
pub struct Preset {
    pub name: &'static str,
    pub sentence: &'static str,
    /// The id of the plot that shows the effect (the page scrolls there).
    pub plot: &'static str,
    pub config: LabConfig,
}

pub fn presets() -> Vec<Preset> {
    let base = LabConfig::default();
    vec![
        Preset {
            name: "default",
            sentence: "You could try the idealised MSSA step on three orthogonal 4-dimensional \
                       subspaces of ℝ¹⁶: each subspace's SNR grows geometrically, close to the \
                       line (1+η)^ℓ.",
            plot: "wb-lab-snr",
            config: base.clone(),
        },
        Preset {
            name: "random",
            sentence: "You could try random instead of orthogonal subspaces: they overlap, each \
                       head also amplifies the other subspaces' share, and the SNR falls below \
                       the line: it rises for a layer, then falls.",
            plot: "wb-lab-snr",
            config: LabConfig {
                orthogonal: false,
                d: 12,
                ..base.clone()
            },
        },
        Preset {
            name: "noisy",
            sentence: "You could try noise past the point where compression helps: with δ near 1 \
                       the other subspaces' share is as strong as the signal, the heads cannot \
                       tell them apart, and the SNR stays flat far below the line.",
            plot: "wb-lab-snr",
            config: LabConfig {
                delta: 0.9,
                noise: 0.3,
                ..base.clone()
            },
        },
        Preset {
            name: "extra-heads",
            sentence: "You could try more heads than subspaces: the extra heads' random \
                       subspaces see every token, find strong matches and amplify the noise in \
                       their directions; even one extra head stops the SNR from growing.",
            plot: "wb-lab-snr",
            config: LabConfig {
                heads: 6,
                ..base.clone()
            },
        },
        Preset {
            name: "softmax",
            sentence: "You could try softmax instead of the hard threshold: every token attends \
                       a little to every other, the tokens drift toward their mean, and the SNR \
                       grows well below the line (with η = 0.5 it even falls).",
            plot: "wb-lab-snr",
            config: LabConfig {
                phi: Phi::Softmax,
                eta: 0.1,
                ..base.clone()
            },
        },
        Preset {
            name: "small-p",
            sentence: "You could try heads of dimension 1 on 4-dimensional subspaces (p too \
                       small): each head sees one direction, mistakes other subspaces' tokens \
                       for matches, and the SNR falls instead of growing; the scatter \
                       stretches along one axis.",
            plot: "wb-lab-scatter",
            config: LabConfig {
                head_dim: 1,
                ..base.clone()
            },
        },
        Preset {
            name: "sparse",
            sentence: "You could try an ISTA step after each MSSA step: with the true bases as \
                       dictionary the noise outside the subspaces is gone after one layer and \
                       the SNR runs above the line; raise λ to 1 and the codes sparsify to about \
                       1/8 non-zero as the other subspaces' share is cut too.",
            plot: "wb-lab-sparsity",
            config: LabConfig {
                ista: true,
                ..base.clone()
            },
        },
        Preset {
            name: "clustering",
            sentence: "You could try more noise on the lines and the plane (σ = 0.1): the three \
                       groups are found only for ε from about σ/10 to 2σ; far below, every bit \
                       of noise is coded and one group is cheapest again (memorising), far \
                       above, one group is good enough (lazy).",
            plot: "wb-lab-coding",
            config: LabConfig {
                cluster_noise: 0.1,
                ..base
            },
        },
    ]
}

pub fn preset(name: &str) -> Result<LabConfig> {
    presets()
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.config)
        .ok_or_else(|| {
            Error::Config(format!(
                "unknown lab preset `{name}`; known: {}",
                presets()
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

impl LabConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("lab: {m}")));
        let within = |name: &str, v: usize, lo: usize, hi: usize| -> Result<()> {
            if v < lo || v > hi {
                return Err(Error::Config(format!(
                    "lab: {name} must be in {lo}..={hi}, not {v}"
                )));
            }
            Ok(())
        };
        within("K", self.k, 1, MAX_K)?;
        within("p", self.p, 1, MAX_P)?;
        within("d", self.d, 2, MAX_D)?;
        within("N", self.n, 2, MAX_N)?;
        within("layers", self.layers, 0, MAX_LAYERS)?;
        within("heads", self.heads, 1, MAX_HEADS)?;
        within("head_dim", self.head_dim, 1, self.p)?;
        within("focus", self.focus, 0, self.k - 1)?;
        within("cluster_points", self.cluster_points, 2, MAX_CLUSTER_POINTS)?;
        if self.p > self.d {
            return bad(format!("p = {} exceeds d = {}", self.p, self.d));
        }
        if self.orthogonal && self.k * self.p > self.d {
            return bad(format!(
                "{} orthogonal subspaces of dimension {} do not fit in dimension {}",
                self.k, self.p, self.d
            ));
        }
        for (name, v, hi) in [
            ("δ", self.delta, 10.0),
            ("noise", self.noise, 10.0),
            ("η", self.eta, 10.0),
            ("threshold", self.threshold, 100.0),
            ("ISTA η", self.ista_eta, 10.0),
            ("λ", self.lambda, 10.0),
            ("cluster noise", self.cluster_noise, 10.0),
        ] {
            if !(v.is_finite() && (0.0..=hi).contains(&v)) {
                return bad(format!("{name} must be in [0, {hi}], not {v}"));
            }
        }
        Ok(())
    }

    /// The settings as `key=value` pairs (the page's URL keys, prefixed `lab-` there).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let phi = match self.phi {
            Phi::Softmax => "softmax",
            Phi::Threshold => "threshold",
        };
        let dict = match self.dictionary {
            Dictionary::Identity => "identity",
            Dictionary::Bases => "bases",
        };
        vec![
            ("k", self.k.to_string()),
            ("p", self.p.to_string()),
            ("d", self.d.to_string()),
            ("n", self.n.to_string()),
            ("delta", self.delta.to_string()),
            ("noise", self.noise.to_string()),
            ("orth", (self.orthogonal as u8).to_string()),
            ("seed", self.seed.to_string()),
            ("layers", self.layers.to_string()),
            ("eta", self.eta.to_string()),
            ("phi", phi.into()),
            ("theta", self.threshold.to_string()),
            ("heads", self.heads.to_string()),
            ("q", self.head_dim.to_string()),
            ("ista", (self.ista as u8).to_string()),
            ("dict", dict.into()),
            ("ista_eta", self.ista_eta.to_string()),
            ("lambda", self.lambda.to_string()),
            ("focus", self.focus.to_string()),
            ("cpts", self.cluster_points.to_string()),
            ("cnoise", self.cluster_noise.to_string()),
        ]
    }

    /// Applies one `key=value` setting; unknown keys are an error naming the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let bad = || Error::Config(format!("lab: bad value `{value}` for `{key}`"));
        let u = || value.parse::<usize>().map_err(|_| bad());
        let f = || value.parse::<f64>().map_err(|_| bad());
        let b = || match value {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(bad()),
        };
        match key {
            "k" => self.k = u()?,
            "p" => self.p = u()?,
            "d" => self.d = u()?,
            "n" => self.n = u()?,
            "delta" => self.delta = f()?,
            "noise" => self.noise = f()?,
            "orth" => self.orthogonal = b()?,
            "seed" => self.seed = value.parse().map_err(|_| bad())?,
            "layers" => self.layers = u()?,
            "eta" => self.eta = f()?,
            "phi" => {
                self.phi = match value {
                    "softmax" => Phi::Softmax,
                    "threshold" => Phi::Threshold,
                    _ => return Err(bad()),
                }
            }
            "theta" => self.threshold = f()?,
            "heads" => self.heads = u()?,
            "q" => self.head_dim = u()?,
            "ista" => self.ista = b()?,
            "dict" => {
                self.dictionary = match value {
                    "identity" => Dictionary::Identity,
                    "bases" => Dictionary::Bases,
                    _ => return Err(bad()),
                }
            }
            "ista_eta" => self.ista_eta = f()?,
            "lambda" => self.lambda = f()?,
            "focus" => self.focus = u()?,
            "cpts" => self.cluster_points = u()?,
            "cnoise" => self.cluster_noise = f()?,
            _ => return Err(Error::Config(format!("lab: unknown setting `{key}`"))),
        }
        Ok(())
    }

    /// Makes the settings that depend on others consistent after one changed (a slider moved):
    /// p ≤ d, q ≤ p, focus < K, and for orthogonal bases K·p ≤ d (d grows to fit, up to
    /// [`MAX_D`]; beyond that the bases become random).
    pub fn repair(&mut self) {
        self.p = self.p.clamp(1, self.d.max(1));
        self.head_dim = self.head_dim.clamp(1, self.p);
        self.focus = self.focus.min(self.k.max(1) - 1);
        if self.orthogonal && self.k * self.p > self.d {
            if self.k * self.p <= MAX_D {
                self.d = self.k * self.p;
            } else {
                self.orthogonal = false;
            }
        }
    }

    /// `k=3&p=2…`: every setting.
    pub fn to_query(&self) -> String {
        self.to_pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Settings from `key=value` pairs over the defaults, then validated.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut c = Self::default();
        for (k, v) in pairs {
            c.set(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_round_trip_through_the_query() {
        for p in presets() {
            p.config.validate().unwrap();
            let q = p.config.to_query();
            let back =
                LabConfig::from_pairs(q.split('&').map(|kv| kv.split_once('=').unwrap())).unwrap();
            assert_eq!(back, p.config, "{}", p.name);
        }
    }

    #[test]
    fn repair_keeps_dependent_settings_valid() {
        let mut c = LabConfig {
            k: 8,
            p: 16,
            ..LabConfig::default()
        };
        c.repair();
        c.validate().unwrap();
        assert!(!c.orthogonal && c.head_dim == 4);
        let mut c = LabConfig {
            k: 5,
            ..LabConfig::default()
        };
        c.repair();
        assert_eq!((c.d, c.orthogonal), (20, true));
        c.validate().unwrap();
    }

    #[test]
    fn bad_settings_are_named() {
        let e = LabConfig::from_pairs([("k", "9")]).unwrap_err().to_string();
        assert!(e.contains("K must be in 1..=8"), "{e}");
        let e = LabConfig::from_pairs([("q", "5")]).unwrap_err().to_string();
        assert!(e.contains("head_dim"), "{e}");
        let e = LabConfig::from_pairs([("zz", "1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown setting `zz`"), "{e}");
        let e = LabConfig::from_pairs([("eta", "nan")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("η"), "{e}");
        let e = LabConfig::from_pairs([("k", "5")]).unwrap_err().to_string();
        assert!(e.contains("do not fit"), "{e}");
    }
}
