//! What a query returns, as Prometheus's `promql.Value`s.

use sonde_tsdb::Labels;

/// One series' value at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    pub v: f64,
}

/// One series' values over time.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    /// `(milliseconds, value)`, oldest first.
    pub points: Vec<(i64, f64)>,
}

/// A query's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<InstantSample>),
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// Prometheus's `resultType`: `scalar`, `string`, `vector` or `matrix`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A sample value as Prometheus writes it (its API, `count_values`,
/// `le` labels): Go's `strconv.FormatFloat(v, 'f', -1, 64)`, with `NaN`,
/// `+Inf` and `-Inf` for the non-finite values.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's `Display` for floats is the shortest text that reads back
        // as the same value, never with an exponent: Go's 'f', -1.
        v.to_string()
    }
}
