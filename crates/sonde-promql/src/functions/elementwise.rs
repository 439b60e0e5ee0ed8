//! Elementwise functions of one float sample: `abs`, `ceil`, `floor`,
//! `exp`, `ln`, `log2`, `log10`, `sqrt`, `sgn`, `round`, the `clamp`
//! family, the trigonometric functions, `deg`, `rad` and the date functions.

use super::date::date_function;

/// The function `name` applied to `v`, with its scalar arguments in call
/// order (`round`'s to_nearest, `clamp`'s min and max, `clamp_min`'s min,
/// `clamp_max`'s max); `None` when `name` is not elementwise.
///
/// `clamp` with max < min yields NaN here; Prometheus drops every sample
/// instead, see [`drops_all_samples`].
pub(crate) fn math_function(name: &str, v: f64, scalars: &[f64]) -> Option<Result<f64, String>> {
    let unary: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "sgn" => sgn,
        "round" => return Some(Ok(round(v, scalars.first().copied().unwrap_or(1.0)))),
        "clamp" => {
            return Some(match scalars {
                [min, max, ..] => Ok(clamp(v, *min, *max)),
                _ => Err("clamp() needs min and max".to_owned()),
            })
        }
        "clamp_min" => {
            return Some(match scalars {
                [min, ..] => Ok(clamp(v, *min, f64::INFINITY)),
                _ => Err("clamp_min() needs min".to_owned()),
            })
        }
        "clamp_max" => {
            return Some(match scalars {
                [max, ..] => Ok(clamp(v, f64::NEG_INFINITY, *max)),
                _ => Err("clamp_max() needs max".to_owned()),
            })
        }
        _ => return date_function(name, v).map(Ok),
    };
    Some(Ok(unary(v)))
}

/// Whether Prometheus returns an empty vector for elementwise function
/// `name` with these scalar arguments regardless of the input: `clamp`
/// with max < min.
pub(crate) fn drops_all_samples(name: &str, scalars: &[f64]) -> bool {
    matches!((name, scalars), ("clamp", [min, max, ..]) if max < min)
}

/// The scalar functions of scalars `min_of(a, b)` and `max_of(a, b)`
/// (Go's `math.Min` / `math.Max`: NaN wins, -0 < +0); `None` for any other
/// name or arity.
pub(crate) fn scalar_function(name: &str, args: &[f64]) -> Option<f64> {
    match (name, args) {
        ("min_of", &[a, b]) => Some(go_min(a, b)),
        ("max_of", &[a, b]) => Some(go_max(a, b)),
        _ => None,
    }
}

/// `sgn`: -1, 1, or the value itself for ±0 and NaN.
fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// Prometheus's `round`: to the nearest multiple of `to_nearest`, ties up.
fn round(v: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (v * inverse + 0.5).floor() / inverse
}

/// Go's `math.Max(min, math.Min(max, v))`: NaN in any argument gives NaN.
fn clamp(v: f64, min: f64, max: f64) -> f64 {
    go_max(min, go_min(max, v))
}

/// Go's `math.Min`: NaN wins; -0 is less than +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

/// Go's `math.Max`: NaN wins; +0 is greater than -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() {
            a
        } else {
            b
        }
    } else if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, v: f64, scalars: &[f64]) -> f64 {
        math_function(name, v, scalars).unwrap().unwrap()
    }

    #[test]
    fn simple_functions() {
        assert_eq!(m("abs", -2.5, &[]), 2.5);
        assert_eq!(m("ceil", 1.1, &[]), 2.0);
        assert_eq!(m("floor", -1.1, &[]), -2.0);
        assert_eq!(m("exp", 0.0, &[]), 1.0);
        assert_eq!(m("ln", 1.0, &[]), 0.0);
        assert!(m("ln", -1.0, &[]).is_nan());
        assert_eq!(m("ln", 0.0, &[]), f64::NEG_INFINITY);
        assert_eq!(m("log2", 8.0, &[]), 3.0);
        assert_eq!(m("log10", 1000.0, &[]), 3.0);
        assert_eq!(m("sqrt", 16.0, &[]), 4.0);
        assert_eq!(m("deg", std::f64::consts::PI, &[]), 180.0);
        assert_eq!(m("rad", 180.0, &[]), std::f64::consts::PI);
        assert_eq!(m("sin", 0.0, &[]), 0.0);
        assert_eq!(m("cos", 0.0, &[]), 1.0);
        assert_eq!(m("atanh", 1.0, &[]), f64::INFINITY);
        assert!(m("acosh", 0.5, &[]).is_nan());
        assert_eq!(m("year", 0.0, &[]), 1970.0);
        assert!(math_function("rate", 1.0, &[]).is_none());
    }

    #[test]
    fn sgn_keeps_zero_and_nan() {
        assert_eq!(m("sgn", -3.0, &[]), -1.0);
        assert_eq!(m("sgn", 3.0, &[]), 1.0);
        assert_eq!(m("sgn", f64::NEG_INFINITY, &[]), -1.0);
        assert!(m("sgn", -0.0, &[]).is_sign_negative());
        assert!(m("sgn", f64::NAN, &[]).is_nan());
    }

    #[test]
    fn round_ties_up() {
        assert_eq!(m("round", 2.5, &[]), 3.0);
        assert_eq!(m("round", -2.5, &[]), -2.0);
        assert_eq!(m("round", 2.4, &[]), 2.0);
        assert_eq!(m("round", 12.0, &[5.0]), 10.0);
        assert_eq!(m("round", 12.5, &[5.0]), 15.0);
        assert_eq!(m("round", 1.234, &[0.1]), 1.2);
        assert!(m("round", f64::NAN, &[]).is_nan());
        assert_eq!(m("round", f64::INFINITY, &[]), f64::INFINITY);
    }

    #[test]
    fn min_of_max_of() {
        assert_eq!(scalar_function("min_of", &[3.0, 5.0]), Some(3.0));
        assert_eq!(scalar_function("max_of", &[3.0, 5.0]), Some(5.0));
        assert_eq!(scalar_function("min_of", &[-2.0, -5.0]), Some(-5.0));
        assert!(scalar_function("min_of", &[f64::NAN, 3.0])
            .unwrap()
            .is_nan());
        assert!(scalar_function("max_of", &[3.0, f64::NAN])
            .unwrap()
            .is_nan());
        assert!(scalar_function("min_of", &[0.0, -0.0])
            .unwrap()
            .is_sign_negative());
        assert!(scalar_function("max_of", &[-0.0, 0.0])
            .unwrap()
            .is_sign_positive());
        assert_eq!(scalar_function("min_of", &[1.0]), None);
        assert_eq!(scalar_function("abs", &[1.0, 2.0]), None);
    }

    #[test]
    fn clamps() {
        assert_eq!(m("clamp", -50.0, &[-25.0, 75.0]), -25.0);
        assert_eq!(m("clamp", 100.0, &[-25.0, 75.0]), 75.0);
        assert_eq!(m("clamp", 0.0, &[-25.0, 75.0]), 0.0);
        assert_eq!(m("clamp_min", -50.0, &[-25.0]), -25.0);
        assert_eq!(m("clamp_max", 100.0, &[75.0]), 75.0);
        assert!(m("clamp", 1.0, &[0.0, f64::NAN]).is_nan());
        assert!(m("clamp", 1.0, &[f64::NAN, 0.0]).is_nan());
        assert!(m("clamp_min", f64::NAN, &[0.0]).is_nan());
        assert!(drops_all_samples("clamp", &[5.0, -5.0]));
        assert!(!drops_all_samples("clamp", &[-5.0, 5.0]));
        assert!(!drops_all_samples("clamp", &[f64::NAN, 0.0]));
        assert!(!drops_all_samples("clamp_min", &[5.0]));
        assert!(math_function("clamp", 1.0, &[1.0]).unwrap().is_err());
    }
}
