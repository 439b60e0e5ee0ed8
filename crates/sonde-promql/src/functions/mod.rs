//! The functions of the language over samples, with Prometheus's exact
//! floating-point semantics (`promql/functions.go`, `promql/quantile.go`).
//!
//! The evaluator selects the samples and handles labels, the metric name
//! and histograms; these functions only compute values:
//!
//! - [`range_function`] / [`range_function_at`]: the functions of a range
//!   vector, one series at a time ([`RangeArgs`]); see [`is_range_function`].
//!   - `rate.rs`: `rate`, `increase`, `delta`, `irate`, `idelta`, `resets`,
//!     `changes`.
//!   - `over_time.rs`: the `<aggregation>_over_time` family and `ts_of_*`.
//!   - `regression.rs`: `deriv`, `predict_linear`.
//!   - `smoothing.rs`: `double_exponential_smoothing`.
//! - `elementwise.rs`: [`math_function`] (with `date.rs`) for functions of
//!   one sample, [`drops_all_samples`], and [`scalar_function`] for
//!   `min_of` / `max_of`.
//! - `histogram.rs`: [`bucket_quantile`] for `histogram_quantile` over
//!   classic histograms.
//! - `labels.rs`: [`label_replace`], [`label_join`].

mod date;
mod elementwise;
mod histogram;
mod labels;
mod over_time;
mod rate;
mod regression;
mod smoothing;

pub(crate) use elementwise::{drops_all_samples, math_function, scalar_function};
pub(crate) use histogram::bucket_quantile;
pub(crate) use labels::{label_join, label_replace};

/// One series' samples in a range, for a range function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RangeArgs<'a> {
    /// The float samples `(ms timestamp, value)`, ascending, with
    /// `range_start < t <= range_end`, staleness markers removed.
    pub points: &'a [(i64, f64)],
    /// The exclusive start of the range (ms).
    pub range_start: i64,
    /// The inclusive end of the range (ms): the evaluation time after
    /// offset and `@`.
    pub range_end: i64,
    /// The function's scalar arguments in call order: `quantile_over_time`'s
    /// q, `predict_linear`'s seconds, `double_exponential_smoothing`'s sf
    /// and tf.
    pub scalars: &'a [f64],
}

/// The range functions [`range_function`] computes. `absent_over_time` is
/// not among them: it is the evaluator's, as it depends on the absence of
/// series rather than on one series' samples.
const RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "deriv",
    "predict_linear",
    "resets",
    "changes",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "mad_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_last_over_time",
    "ts_of_first_over_time",
    "double_exponential_smoothing",
];

/// Whether [`range_function`] computes `name`.
pub(crate) fn is_range_function(name: &str) -> bool {
    RANGE_FUNCTIONS.contains(&name)
}

/// The range function `name` over one series, `None` when it yields no
/// sample (no points, or too few for the function).
///
/// `predict_linear` extrapolates from `range_end` here; Prometheus
/// extrapolates from the evaluation step's time, which differs under
/// `offset` or `@`: use [`range_function_at`] to pass it.
///
/// Errors: an unknown name, a missing scalar argument, or an invalid
/// smoothing or trend factor (Prometheus's texts).
pub(crate) fn range_function(name: &str, args: &RangeArgs) -> Result<Option<f64>, String> {
    range_function_at(name, args, args.range_end)
}

/// [`range_function`] with the evaluation step's time `eval_time` (ms,
/// before offset and `@`), which only `predict_linear` uses.
pub(crate) fn range_function_at(
    name: &str,
    args: &RangeArgs,
    eval_time: i64,
) -> Result<Option<f64>, String> {
    if !is_range_function(name) {
        return Err(format!("unknown range function {name:?}"));
    }
    // Prometheus calls range functions only for series with samples.
    if args.points.is_empty() {
        return Ok(None);
    }
    let scalar = |i: usize| {
        args.scalars
            .get(i)
            .copied()
            .ok_or_else(|| format!("{name}() is missing scalar argument {}", i + 1))
    };
    Ok(match name {
        "rate" => rate::extrapolated_rate(args, true, true),
        "increase" => rate::extrapolated_rate(args, true, false),
        "delta" => rate::extrapolated_rate(args, false, false),
        "irate" => rate::instant_value(args, true),
        "idelta" => rate::instant_value(args, false),
        "resets" => rate::resets(args),
        "changes" => rate::changes(args),
        "deriv" => regression::deriv(args.points),
        "predict_linear" => regression::predict_linear(args.points, scalar(0)?, eval_time),
        "avg_over_time" => over_time::avg(args),
        "sum_over_time" => over_time::sum(args),
        "count_over_time" => over_time::count(args),
        "min_over_time" => over_time::min(args),
        "max_over_time" => over_time::max(args),
        "stddev_over_time" => over_time::stddev(args),
        "stdvar_over_time" => over_time::stdvar(args),
        "quantile_over_time" => over_time::quantile_over(args, scalar(0)?),
        "mad_over_time" => over_time::mad(args),
        "last_over_time" => over_time::last(args),
        "first_over_time" => over_time::first(args),
        "present_over_time" => over_time::present(args),
        "ts_of_min_over_time" => over_time::ts_of_min(args),
        "ts_of_max_over_time" => over_time::ts_of_max(args),
        "ts_of_last_over_time" => over_time::ts_of_last(args),
        "ts_of_first_over_time" => over_time::ts_of_first(args),
        "double_exponential_smoothing" => {
            return smoothing::double_exponential_smoothing(args.points, scalar(0)?, scalar(1)?)
        }
        _ => return Err(format!("unknown range function {name:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args<'a>(points: &'a [(i64, f64)], scalars: &'a [f64]) -> RangeArgs<'a> {
        RangeArgs {
            points,
            range_start: 0,
            range_end: 60_000,
            scalars,
        }
    }

    #[test]
    fn every_listed_function_dispatches() {
        let points = [(10_000, 1.0), (20_000, 2.0), (30_000, 4.0)];
        let scalars = [0.5, 0.5];
        for name in RANGE_FUNCTIONS {
            let out = range_function(name, &args(&points, &scalars));
            assert!(matches!(out, Ok(Some(_))), "{name}: {out:?}");
        }
    }

    #[test]
    fn unknown_names_and_missing_scalars_are_errors() {
        let points = [(10_000, 1.0), (20_000, 2.0)];
        assert!(range_function("abs", &args(&points, &[])).is_err());
        assert!(range_function("absent_over_time", &args(&points, &[])).is_err());
        assert!(!is_range_function("absent_over_time"));
        assert!(is_range_function("rate"));
        let err = range_function("quantile_over_time", &args(&points, &[])).unwrap_err();
        assert_eq!(err, "quantile_over_time() is missing scalar argument 1");
        assert!(range_function("double_exponential_smoothing", &args(&points, &[0.5])).is_err());
    }

    #[test]
    fn empty_series_yield_nothing_without_validating() {
        for name in RANGE_FUNCTIONS {
            assert_eq!(
                range_function(name, &args(&[], &[2.0, 2.0])),
                Ok(None),
                "{name}"
            );
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        let odd = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            f64::MAX,
            f64::MIN,
        ];
        let series: Vec<Vec<(i64, f64)>> = vec![
            vec![(1, f64::NAN)],
            odd.iter()
                .enumerate()
                .map(|(i, &v)| (i as i64, v))
                .collect(),
            vec![(i64::MIN + 1, 1.0), (0, f64::NAN), (i64::MAX, -1.0)],
        ];
        for points in &series {
            for &s in &odd {
                let scalars = [s, s];
                let a = RangeArgs {
                    points,
                    range_start: i64::MIN,
                    range_end: i64::MAX,
                    scalars: &scalars,
                };
                for name in RANGE_FUNCTIONS {
                    let _ = range_function_at(name, &a, i64::MIN);
                }
                for name in ["round", "clamp", "clamp_min", "clamp_max", "year", "sqrt"] {
                    let _ = math_function(name, s, &scalars);
                }
                let _ = bucket_quantile(s, &mut points.iter().map(|&(_, v)| (v, s)).collect());
            }
        }
    }

    #[test]
    fn smoothing_errors_surface() {
        let points = [(10_000, 1.0), (20_000, 2.0)];
        let err = range_function("double_exponential_smoothing", &args(&points, &[0.5, 1.5]));
        assert_eq!(
            err,
            Err("invalid trend factor. Expected: 0 < tf < 1, got: 1.500000".to_owned())
        );
    }

    #[test]
    fn predict_linear_uses_the_evaluation_time() {
        let points = [(10_000, 1.0), (20_000, 2.0)];
        let a = args(&points, &[0.0]);
        // Slope 0.1/s: at range_end (60s) 6, at eval time 100s 10.
        assert_eq!(range_function("predict_linear", &a), Ok(Some(6.0)));
        assert_eq!(
            range_function_at("predict_linear", &a, 100_000),
            Ok(Some(10.0))
        );
        assert_eq!(
            range_function_at("rate", &a, 100_000),
            range_function("rate", &a)
        );
    }
}
