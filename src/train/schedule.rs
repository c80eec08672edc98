//! The learning-rate schedule: linear warm-up from `lr / warmup` to `lr`, then cosine decay to
//! a floor `min_lr` at the last step. A pure function of the step, so resuming needs only the
//! step count.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub lr: f32,
    pub min_lr: f32,
    pub warmup_steps: u64,
    pub total_steps: u64,
}

impl Schedule {
    /// The learning rate for step `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f32 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f32 / self.warmup_steps as f32;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let t = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
        let cos = 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
        (self.min_lr as f64 + (self.lr - self.min_lr) as f64 * cos) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_values_at_known_points() {
        let s = Schedule {
            lr: 1.0,
            min_lr: 0.1,
            warmup_steps: 10,
            total_steps: 110,
        };
        assert!((s.lr_at(0) - 0.1).abs() < 1e-7);
        assert!((s.lr_at(4) - 0.5).abs() < 1e-7);
        assert!((s.lr_at(9) - 1.0).abs() < 1e-7);
        assert!((s.lr_at(10) - 1.0).abs() < 1e-7);
        // half-way through the decay: floor + (lr - floor) / 2
        assert!((s.lr_at(60) - 0.55).abs() < 1e-6);
        assert!(
            (s.lr_at(35) - (0.1 + 0.9 * 0.5 * (1.0 + std::f64::consts::FRAC_1_SQRT_2) as f32))
                .abs()
                < 1e-5
        );
        assert!((s.lr_at(110) - 0.1).abs() < 1e-7);
        assert!((s.lr_at(500) - 0.1).abs() < 1e-7);
        let none = Schedule {
            warmup_steps: 0,
            ..s
        };
        assert!((none.lr_at(0) - 1.0).abs() < 1e-7);
    }
}
