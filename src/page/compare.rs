//! The engine comparison on the image on show: how far the WebGPU report is from the CPU
//! report, in the three numbers the page prints.

use crate::analysis::ImageReport;

/// The largest differences between two reports of one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Differences {
    /// Logits, relative to the reference's largest magnitude.
    pub logits: f64,
    /// R^c before and after every MSSA step, relative to the reference's largest magnitude.
    pub rc: f64,
    /// ISTA non-zero fractions, absolute (they are fractions already).
    pub sparsity: f64,
}

/// The largest of `xs`, or NaN when one is NaN (`f64::max` would drop it, and a NaN from one
/// engine must show as a difference, not as none).
fn worst(xs: impl Iterator<Item = f64>) -> f64 {
    xs.fold(0.0, |m: f64, d| {
        if m.is_nan() || d.is_nan() {
            f64::NAN
        } else {
            m.max(d)
        }
    })
}

/// Largest absolute difference of `x` from `y`, over `y`'s largest magnitude (floored so that
/// an all-zero reference does not divide by zero).
fn relative(x: &[f64], y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    worst(x.iter().zip(y).map(|(p, q)| (p - q).abs())) / scale
}

/// How far `a` is from the reference `b`.
pub fn differences(a: &ImageReport, b: &ImageReport) -> Differences {
    let logits = |r: &ImageReport| r.logits.iter().map(|&v| v as f64).collect::<Vec<_>>();
    let rc = |r: &ImageReport| {
        r.layers
            .iter()
            .flat_map(|s| [s.rc_in, s.rc_out])
            .collect::<Vec<_>>()
    };
    let sparsity = worst(
        a.layers
            .iter()
            .zip(&b.layers)
            .map(|(p, q)| (p.sparsity - q.sparsity).abs()),
    );
    Differences {
        logits: relative(&logits(a), &logits(b)),
        rc: relative(&rc(a), &rc(b)),
        sparsity,
    }
}

/// The sentence the model view shows after a comparison of WebGPU (`gpu`, `gpu_ms`) against
/// the CPU engine (`cpu`, `cpu_ms`) on the image `name`.
pub fn comparison_text(
    name: &str,
    gpu: &ImageReport,
    gpu_ms: f64,
    cpu: &ImageReport,
    cpu_ms: f64,
) -> String {
    let d = differences(gpu, cpu);
    format!(
        "WebGPU vs CPU on {name}: logits differ by at most {:.1e} (relative), R^c by {:.1e} \
         (relative), non-zero fraction by {:.1e}. Time: WebGPU {gpu_ms:.1} ms, CPU {cpu_ms:.1} ms.",
        d.logits, d.rc, d.sparsity
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::LayerStats;

    fn report(logits: &[f32], layers: &[(f64, f64, f64)]) -> ImageReport {
        ImageReport {
            input_size: [28, 28],
            grid: [4, 4],
            dim: 8,
            tokens: 17,
            logits: logits.to_vec(),
            top5: Vec::new(),
            layers: layers
                .iter()
                .map(|&(rc_in, rc_out, sparsity)| LayerStats {
                    rc_in,
                    rc_out,
                    sparsity,
                })
                .collect(),
            cls: Vec::new(),
            zout: Vec::new(),
            rollout: Vec::new(),
        }
    }

    #[test]
    fn identical_reports_do_not_differ() {
        let r = report(&[1.0, -2.0, 0.5], &[(10.0, 8.0, 0.3), (7.0, 6.0, 0.2)]);
        let d = differences(&r, &r);
        assert_eq!(
            d,
            Differences {
                logits: 0.0,
                rc: 0.0,
                sparsity: 0.0
            }
        );
    }

    #[test]
    fn known_differences() {
        let cpu = report(&[2.0, -4.0, 1.0], &[(10.0, 8.0, 0.5), (20.0, 16.0, 0.25)]);
        let gpu = report(&[2.0, -3.0, 1.5], &[(10.5, 8.0, 0.5), (20.0, 15.0, 0.375)]);
        let d = differences(&gpu, &cpu);
        // Logits: largest |Δ| 1.0 over the reference's largest |logit| 4.0.
        assert_eq!(d.logits, 0.25);
        // R^c: largest |Δ| 1.0 (layer 1, after MSSA) over the largest R^c 20.0.
        assert_eq!(d.rc, 0.05);
        // Sparsity is absolute: 0.375 - 0.25.
        assert_eq!(d.sparsity, 0.125);
        // The reference decides the scale: swapped, the logits' scale is 3.0.
        assert_eq!(differences(&cpu, &gpu).logits, 1.0 / 3.0);
    }

    #[test]
    fn an_all_zero_reference_does_not_divide_by_zero() {
        let zero = report(&[0.0, 0.0], &[(0.0, 0.0, 0.0)]);
        let d = differences(&zero, &zero);
        assert_eq!((d.logits, d.rc, d.sparsity), (0.0, 0.0, 0.0));
        let some = report(&[1e-6, 0.0], &[(0.0, 0.0, 0.0)]);
        let d = differences(&some, &zero);
        assert!(d.logits.is_finite() && d.logits > 1e5, "{}", d.logits);
    }

    #[test]
    fn a_non_finite_value_is_not_hidden() {
        let cpu = report(&[1.0, 2.0, 3.0], &[(1.0, 1.0, 0.5), (1.0, 1.0, 0.5)]);
        let gpu = report(
            &[f32::NAN, 2.0, 30.0],
            &[(f64::INFINITY, 1.0, f64::NAN), (1.0, 1.0, 0.0)],
        );
        let d = differences(&gpu, &cpu);
        assert!(d.logits.is_nan(), "a NaN logit before a larger difference");
        assert!(d.rc.is_infinite());
        assert!(
            d.sparsity.is_nan(),
            "a NaN fraction before a larger difference"
        );
    }

    #[test]
    fn the_sentence_carries_the_numbers() {
        let cpu = report(&[2.0, -4.0], &[(10.0, 8.0, 0.5)]);
        let gpu = report(&[2.0, -3.0], &[(10.0, 8.0, 0.5)]);
        assert_eq!(
            comparison_text("cat.jpg", &gpu, 3.31, &cpu, 12.0),
            "WebGPU vs CPU on cat.jpg: logits differ by at most 2.5e-1 (relative), R^c by \
             0.0e0 (relative), non-zero fraction by 0.0e0. Time: WebGPU 3.3 ms, CPU 12.0 ms."
        );
    }
}
