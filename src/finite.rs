//! Results that are not finite numbers are an error, not output: a model whose weights or
//! normalisation overflow float32 gives NaN or infinite logits and measures, and printing
//! `NaN%` predictions (or `null` in JSON) as if they were results would be silent garbage.

use crate::analysis::LayerStats;
use crate::error::{Error, Result};

/// Refuses `values` unless every one is finite; `what` names them ("the logits of cat.png").
pub fn ensure_finite(values: &[f32], what: &str) -> Result<()> {
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    if bad == 0 {
        return Ok(());
    }
    let first = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::NotFinite(format!(
        "{what} are not finite: {bad} of {} values are NaN or infinite (the first, at index \
         {first}, is {}); the model's weights or its mean/std/eta/lambda overflow float32",
        values.len(),
        values[first]
    )))
}

/// Refuses per-layer measures (R^c, non-zero fraction) that are not finite.
pub fn ensure_finite_stats(stats: &[LayerStats], what: &str) -> Result<()> {
    for (l, s) in stats.iter().enumerate() {
        for (name, v) in [
            ("R^c in", s.rc_in),
            ("R^c after MSSA", s.rc_out),
            ("non-zero fraction", s.sparsity),
        ] {
            if !v.is_finite() {
                return Err(Error::NotFinite(format!(
                    "{what}: layer {l}'s {name} is not finite ({v}); the model's weights or its \
                     mean/std/eta/lambda overflow float32"
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a measure (a loss, an accuracy) that is not finite.
pub fn ensure_finite_value(v: f64, what: &str) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::NotFinite(format!(
            "{what} is not finite ({v}); the model's weights or its mean/std/eta/lambda \
             overflow float32"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_passes_and_nan_names_what() {
        ensure_finite(&[1.0, -2.0], "x").unwrap();
        let e = ensure_finite(&[1.0, f32::NAN, f32::INFINITY], "the logits of a.png")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the logits of a.png are not finite: 2 of 3") && e.contains("index 1"),
            "{e}"
        );
        let s = LayerStats {
            rc_in: 1.0,
            rc_out: f64::NAN,
            sparsity: 0.5,
        };
        let e = ensure_finite_stats(&[s], "m").unwrap_err().to_string();
        assert!(e.contains("layer 0's R^c after MSSA"), "{e}");
        assert!(ensure_finite_value(f64::INFINITY, "loss").is_err());
    }
}
