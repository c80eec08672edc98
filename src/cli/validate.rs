//! Numeric flags, checked when parsed: every refusal says the flag's allowed range, so that
//! `--lr NaN` or `--batch 100000000` is an error message, not a NaN run or an allocation abort.

use std::ops::RangeInclusive;

use crate::data::synthetic::{subspaces, SubspaceConfig};

fn float_in(s: &str, range: RangeInclusive<f32>, what: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number; {what}"))?;
    if !v.is_finite() || !range.contains(&v) {
        return Err(format!("{v} is out of range; {what}"));
    }
    Ok(v)
}

fn int_in<T>(s: &str, range: RangeInclusive<T>, what: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + Copy,
{
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number; {what}"))?;
    if !range.contains(&v) {
        return Err(format!("`{s}` is out of range; {what}"));
    }
    Ok(v)
}

/// Largest batch a command accepts (the images alone of a CRATE-L batch of 4096 are 2.4 GB).
pub const MAX_BATCH: usize = 4096;
/// Largest class count of a fresh model (ImageNet-21k has 21,843).
pub const MAX_CLASSES: usize = 1_000_000;
/// Most epochs of a run.
pub const MAX_EPOCHS: u64 = 100_000;

pub fn lr(s: &str) -> Result<f32, String> {
    float_in(
        s,
        f32::MIN_POSITIVE..=10.0,
        "the learning rate must be above 0 and at most 10",
    )
}

pub fn min_lr(s: &str) -> Result<f32, String> {
    float_in(
        s,
        0.0..=10.0,
        "the learning-rate floor must be between 0 and 10 (and not above --lr)",
    )
}

pub fn weight_decay(s: &str) -> Result<f32, String> {
    float_in(s, 0.0..=10.0, "the weight decay must be between 0 and 10")
}

pub fn warmup_epochs(s: &str) -> Result<f32, String> {
    float_in(
        s,
        0.0..=MAX_EPOCHS as f32,
        "the warm-up must be between 0 and 100000 epochs",
    )
}

pub fn label_smoothing(s: &str) -> Result<f32, String> {
    float_in(
        s,
        0.0..=0.999,
        "label smoothing must be between 0 and 0.999 (below 1)",
    )
}

pub fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}`: must be a number from 0 to 1")),
    }
}

pub fn hide_prob(s: &str) -> Result<f32, String> {
    float_in(
        s,
        0.0..=0.95,
        "the hiding probability must be between 0 and 0.95 (some of the image must stay)",
    )
}

pub fn clip(s: &str) -> Result<f32, String> {
    float_in(
        s,
        0.0..=1e6,
        "the clipping norm must be between 0 (off) and 1e6",
    )
}

pub fn epochs(s: &str) -> Result<u64, String> {
    int_in(
        s,
        1..=MAX_EPOCHS,
        "the number of epochs must be between 1 and 100000",
    )
}

pub fn batch(s: &str) -> Result<usize, String> {
    int_in(
        s,
        1..=MAX_BATCH,
        "the batch size must be between 1 and 4096",
    )
}

pub fn classes(s: &str) -> Result<usize, String> {
    int_in(
        s,
        1..=MAX_CLASSES,
        "the number of classes must be between 1 and 1000000",
    )
}

pub fn heads(s: &str) -> Result<usize, String> {
    int_in(
        s,
        1..=4096,
        "the number of heads must be between 1 and 4096",
    )
}

/// `--subspaces`: the classes of the subspace mixture (the same range the page allows:
/// [`SubspaceConfig::check_knobs`](crate::data::synthetic::SubspaceConfig::check_knobs)).
pub fn subspaces(s: &str) -> Result<usize, String> {
    int_in(
        s,
        2..=subspaces::MAX_SUBSPACES,
        "the number of subspaces must be between 2 and 32",
    )
}

/// `--subspace-dim`: at most the ambient dimension, 32.
pub fn subspace_dim(s: &str) -> Result<usize, String> {
    int_in(
        s,
        1..=SubspaceConfig::default().dim,
        "the subspace dimension must be between 1 and 32 (the tokens live in R^32)",
    )
}

/// `--noise`: σ per coordinate; beyond about 1 the subspaces drown.
pub fn noise(s: &str) -> Result<f32, String> {
    float_in(
        s,
        0.0..=subspaces::MAX_NOISE,
        "the noise σ must be between 0 and 10",
    )
}

/// `--tokens`: tokens per sample (the model's sequence length less the class token).
pub fn tokens(s: &str) -> Result<usize, String> {
    int_in(
        s,
        1..=subspaces::MAX_TOKENS,
        "the tokens per sample must be between 1 and 256",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_give_the_range() {
        for (r, want) in [
            (lr("NaN"), "above 0 and at most 10"),
            (lr("0"), "above 0"),
            (weight_decay("-1e30"), "between 0 and 10"),
            (warmup_epochs("NaN"), "between 0 and 100000"),
            (clip("-1"), "between 0 (off)"),
            (label_smoothing("2"), "below 1"),
            (lr("fast"), "not a number"),
        ] {
            let e = r.unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        assert!(epochs("0").unwrap_err().contains("between 1 and"));
        assert!(batch("100000000")
            .unwrap_err()
            .contains("between 1 and 4096"));
        assert!(classes("100000000000").is_err());
        assert_eq!(lr("1e-3"), Ok(1e-3));
        assert_eq!(clip("0"), Ok(0.0));
        assert_eq!(batch("32"), Ok(32));
        assert!(super::subspaces("1")
            .unwrap_err()
            .contains("between 2 and 32"));
        assert!(subspace_dim("33").unwrap_err().contains("R^32"));
        assert!(noise("NaN").unwrap_err().contains("between 0 and 10"));
        assert!(noise("-0.1").is_err());
        assert!(tokens("0").unwrap_err().contains("between 1 and 256"));
        assert_eq!(
            (
                subspaces("8"),
                subspace_dim("2"),
                noise("0.2"),
                tokens("64")
            ),
            (Ok(8), Ok(2), Ok(0.2), Ok(64))
        );
    }
}
