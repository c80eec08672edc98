//! Colour maps.

/// matplotlib's "inferno" at nine evenly spaced stops (perceptually uniform, readable in
/// grayscale print), interpolated linearly between them.
pub(crate) const INFERNO: [[u8; 3]; 9] = [
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

/// Distinct colours for categories (heads, classes): Tableau 10, then repeated.
const CATEGORICAL: [[u8; 3]; 10] = [
    [78, 121, 167],
    [242, 142, 43],
    [225, 87, 89],
    [118, 183, 178],
    [89, 161, 79],
    [237, 201, 72],
    [176, 122, 161],
    [255, 157, 167],
    [156, 117, 95],
    [186, 176, 172],
];

/// The colour of category `k`.
pub fn categorical(k: usize) -> [u8; 3] {
    CATEGORICAL[k % CATEGORICAL.len()]
}

/// A 2-D colour wheel over a position (x, y) in [0, 1]²: hue is the angle around the centre,
/// saturation the distance from it, so neighbouring patches get similar colours and the centre
/// is pale.
pub fn wheel(x: f64, y: f64) -> [u8; 3] {
    let (dx, dy) = (x.clamp(0.0, 1.0) * 2.0 - 1.0, y.clamp(0.0, 1.0) * 2.0 - 1.0);
    let sat = (dx.hypot(dy) / std::f64::consts::SQRT_2 * 1.25).min(1.0);
    let hue = (dy.atan2(dx) / std::f64::consts::TAU).rem_euclid(1.0) * 6.0;
    let f = hue.fract();
    let rgb = match hue as usize {
        0 => [1.0, f, 0.0],
        1 => [1.0 - f, 1.0, 0.0],
        2 => [0.0, 1.0, f],
        3 => [0.0, 1.0 - f, 1.0],
        4 => [f, 0.0, 1.0],
        _ => [1.0, 0.0, 1.0 - f],
    };
    // Mix with a light grey by the saturation, then darken a little for contrast on white.
    rgb.map(|c| ((0.82 * (1.0 - sat) + c * sat) * 0.9 * 255.0).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_and_categories() {
        // The centre is pale grey; opposite corners differ in hue; neighbours are close.
        let c = wheel(0.5, 0.5);
        assert!(c.iter().all(|&v| (v as i32 - 188).abs() <= 1), "{c:?}");
        assert_ne!(wheel(0.0, 0.0), wheel(1.0, 1.0));
        let (a, b) = (wheel(0.9, 0.2), wheel(0.91, 0.2));
        assert!(a
            .iter()
            .zip(b)
            .all(|(&x, y)| (x as i32 - y as i32).abs() < 12));
        assert_eq!(categorical(0), categorical(10));
        assert_ne!(categorical(0), categorical(1));
    }

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
