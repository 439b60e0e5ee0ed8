//! `double_exponential_smoothing(v, sf, tf)` (formerly `holt_winters`), as
//! Prometheus computes it.

/// Formats a float as Go's `%f` does (6 decimals; `+Inf`, `-Inf`, `NaN`).
fn go_percent_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v:.6}")
    }
}

/// Prometheus's `calcTrendValue`.
fn trend_value(i: usize, tf: f64, s0: f64, s1: f64, b: f64) -> f64 {
    if i == 0 {
        return b;
    }
    let x = tf * (s1 - s0);
    let y = (1.0 - tf) * b;
    x + y
}

/// Smooths `points` with smoothing factor `sf` and trend factor `tf`, both
/// strictly between 0 and 1 (else Prometheus's error; NaN passes). Fewer than two
/// points give no sample.
pub(super) fn double_exponential_smoothing(
    points: &[(i64, f64)],
    sf: f64,
    tf: f64,
) -> Result<Option<f64>, String> {
    // As in Prometheus, a NaN factor passes these checks (and gives NaN).
    if sf <= 0.0 || sf >= 1.0 {
        return Err(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            go_percent_f(sf)
        ));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            go_percent_f(tf)
        ));
    }
    if points.len() < 2 {
        return Ok(None);
    }
    let mut s0 = 0.0;
    let mut s1 = points[0].1;
    let mut b = points[1].1 - points[0].1;
    for (i, &(_, f)) in points.iter().enumerate().skip(1) {
        let x = sf * f;
        b = trend_value(i - 1, tf, s0, s1, b);
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooths_a_line_exactly() {
        // A straight line is reproduced: s1 stays on the line.
        let p: Vec<_> = (0..10).map(|i| (i * 1000, i as f64 * 2.0)).collect();
        let v = double_exponential_smoothing(&p, 0.5, 0.5).unwrap().unwrap();
        assert_eq!(v, 18.0);
    }

    #[test]
    fn hand_computed_three_points() {
        // s1=1, b=2 (3-1); i=1: x=.5*3=1.5, b=2, y=.5*(1+2)=1.5, s1=3, s0=1;
        // i=2: x=.5*4=2, b=.5*(3-1)+.5*2=2, y=.5*(3+2)=2.5, s1=4.5.
        let p = [(0, 1.0), (1, 3.0), (2, 4.0)];
        assert_eq!(double_exponential_smoothing(&p, 0.5, 0.5), Ok(Some(4.5)));
    }

    #[test]
    fn rejects_factors_out_of_range() {
        let p = [(0, 1.0), (1, 2.0)];
        assert_eq!(
            double_exponential_smoothing(&p, 1.0, 0.5),
            Err("invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000".to_owned())
        );
        assert_eq!(
            double_exponential_smoothing(&p, 0.5, 0.0),
            Err("invalid trend factor. Expected: 0 < tf < 1, got: 0.000000".to_owned())
        );
        let nan = double_exponential_smoothing(&p, f64::NAN, 0.5)
            .unwrap()
            .unwrap();
        assert!(nan.is_nan());
        assert_eq!(
            double_exponential_smoothing(&p, f64::INFINITY, 0.5),
            Err("invalid smoothing factor. Expected: 0 < sf < 1, got: +Inf".to_owned())
        );
    }

    #[test]
    fn needs_two_points() {
        assert_eq!(
            double_exponential_smoothing(&[(0, 1.0)], 0.5, 0.5),
            Ok(None)
        );
        assert_eq!(double_exponential_smoothing(&[], 0.5, 0.5), Ok(None));
    }
}
