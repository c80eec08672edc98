//! Colour maps.

/// matplotlib's "inferno" at nine evenly spaced stops (perceptually uniform, readable in
/// grayscale print), interpolated linearly between them.
const INFERNO: [[u8; 3]; 9] = [
    [0, 0, 4],
    [27, 12, 65],
    [74, 12, 107],
    [120, 28, 109],
    [165, 44, 96],
    [207, 68, 70],
    [237, 105, 37],
    [251, 155, 6],
    [252, 255, 164],
];

/// Colour of `t` in [0, 1] (clamped; NaN maps to 0).
pub fn inferno(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (INFERNO.len() - 1) as f32;
    let i = (x.floor() as usize).min(INFERNO.len() - 2);
    let f = x - i as f32;
    let (a, b) = (INFERNO[i], INFERNO[i + 1]);
    std::array::from_fn(|c| (a[c] as f32 + (b[c] as f32 - a[c] as f32) * f).round() as u8)
}

/// CSS `rgb(...)` of a colour.
pub fn css(c: [u8; 3]) -> String {
    format!("rgb({},{},{})", c[0], c[1], c[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_middle_and_clamping() {
        assert_eq!(inferno(0.0), [0, 0, 4]);
        assert_eq!(inferno(1.0), [252, 255, 164]);
        assert_eq!(inferno(0.5), [165, 44, 96]);
        assert_eq!(inferno(-3.0), inferno(0.0));
        assert_eq!(inferno(7.0), inferno(1.0));
        assert_eq!(inferno(f32::NAN), inferno(0.0));
        // Halfway between the first two stops.
        assert_eq!(inferno(0.0625), [14, 6, 35]);
        // Brightness grows with t.
        let lum = |c: [u8; 3]| c.iter().map(|&v| v as u32).sum::<u32>();
        let mut last = 0;
        for i in 0..=32 {
            let l = lum(inferno(i as f32 / 32.0));
            assert!(l >= last, "not monotone at {i}");
            last = l;
        }
    }
}
