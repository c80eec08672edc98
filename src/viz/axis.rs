//! Chart axes: round tick values and compact number labels.

/// Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten, about five of them)
/// covering [lo, hi].
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut out = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 {
        out.push(k * step + 0.0);
        k += 1.0;
    }
    out
}

/// A short label: no decimals from 1000 up, one from 10, three from 0.1, else scientific.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

/// A tick label: [`format_value`] without trailing zeros ("5" rather than "5.000"), and powers of
/// ten from 1e-2 down or 1e4 up as `1e-2` (log axes).
pub fn tick_label(v: f64) -> String {
    let e = v.abs().log10();
    if v != 0.0 && (e - e.round()).abs() < 1e-9 && (e.round() <= -2.0 || e.round() >= 4.0) {
        return format!("{}1e{}", if v < 0.0 { "-" } else { "" }, e.round() as i32);
    }
    let s = format_value(v);
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A whole number in Unicode superscript digits, for labels like Z⁶ in plain text.
pub fn superscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover() {
        assert_eq!(ticks(0.0, 1.0), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(ticks(163.0, 201.0), vec![170.0, 180.0, 190.0, 200.0]);
        let t = ticks(0.31, 0.46);
        assert_eq!(t.len(), 3, "{t:?}");
        assert!((t[0] - 0.35).abs() < 1e-12 && (t[2] - 0.45).abs() < 1e-12);
        assert_eq!(ticks(2.0, 2.0), vec![2.0]);
        assert_eq!(ticks(f64::NAN, 1.0).len(), 1);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick_label(5.0), "5");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(-2.5), "-2.5");
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(1e-4), "1e-4");
        assert_eq!(tick_label(0.01), "1e-2");
        assert_eq!(tick_label(0.1), "0.1");
        assert_eq!(tick_label(1000.0), "1000");
        assert_eq!(tick_label(0.02), "2.00e-2");
        assert_eq!(tick_label(2500.0), "2500");
        assert_eq!(tick_label(1e6), "1e6");
    }

    #[test]
    fn superscripts() {
        assert_eq!(superscript(6), "⁶");
        assert_eq!(superscript(120), "¹²⁰");
    }

    #[test]
    fn labels() {
        assert_eq!(format_value(1234.4), "1234");
        assert_eq!(format_value(183.31), "183.3");
        assert_eq!(format_value(0.4456), "0.446");
        assert_eq!(format_value(0.0123), "1.23e-2");
        assert_eq!(format_value(0.0), "0");
    }
}
