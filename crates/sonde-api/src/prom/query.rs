//! `/api/v1/query` and `/api/v1/query_range`: PromQL over the store, with
//! Prometheus's parameter checks and its JSON encoding of results.
//!
//! Values are strings in Go's `strconv.FormatFloat(v, 'f', -1, 64)` form
//! (`"1"`, `"0.5"`, `"NaN"`, `"+Inf"`); timestamps are seconds with the
//! milliseconds as a fraction, written as Prometheus writes them.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use sonde_promql::{format_value, Engine, EngineOptions, Value};

use super::envelope::{success, PromError};
use super::params::{now_ms, Params};
use super::{json_labels, json_str, PromState};

/// Most points a range query may return per series, as Prometheus.
const MAX_POINTS: i128 = 11_000;

pub async fn instant(
    State(state): State<PromState>,
    params: Params,
) -> Result<Response, PromError> {
    let t = params.time_or("time", now_ms())?;
    let (engine, timeout) = engine(&state, &params)?;
    let query = params.get("query").unwrap_or("").to_owned();
    let data = run(timeout, move || {
        let value = engine.instant(state.db.as_ref(), &query, t)?;
        Ok(encode(&value))
    })
    .await?;
    Ok(success(&data))
}

pub async fn range(State(state): State<PromState>, params: Params) -> Result<Response, PromError> {
    let start = params.time("start")?;
    let end = params.time("end")?;
    if end < start {
        return Err(PromError::param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns = params
        .duration("step")?
        .ok_or_else(|| PromError::param("step", "cannot parse \"\" to a valid duration"))?;
    let step_ms = step_ns / 1_000_000;
    if step_ns <= 0 || step_ms <= 0 {
        return Err(PromError::param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (i128::from(end) - i128::from(start)) * 1_000_000 / i128::from(step_ns) > MAX_POINTS {
        return Err(PromError::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
        ));
    }
    let (engine, timeout) = engine(&state, &params)?;
    let query = params.get("query").unwrap_or("").to_owned();
    let data = run(timeout, move || {
        let value = engine.range(state.db.as_ref(), &query, start, end, step_ms)?;
        Ok(encode(&value))
    })
    .await?;
    Ok(success(&data))
}

/// The engine to run with and how long to wait for it: the shared one,
/// or one whose timeout a `timeout` parameter shortened, so that the
/// evaluation itself stops then.
fn engine(state: &PromState, params: &Params) -> Result<(Arc<Engine>, Duration), PromError> {
    let limit = state.engine.options().timeout;
    match params.duration("timeout")? {
        Some(ns) => {
            let timeout = Duration::from_nanos(u64::try_from(ns).unwrap_or(0)).min(limit);
            let options = EngineOptions {
                timeout,
                ..state.engine.options().clone()
            };
            Ok((Arc::new(Engine::new(options)), timeout))
        }
        None => Ok((state.engine.clone(), limit)),
    }
}

/// Runs a query on the blocking pool, answering `timeout` once it has run
/// for longer than allowed, even if the engine has not yet noticed.
async fn run(
    limit: Duration,
    query: impl FnOnce() -> Result<String, PromError> + Send + 'static,
) -> Result<String, PromError> {
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(query)).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(PromError::Internal(format!("query task failed: {e}"))),
        Err(_) => Err(PromError::Timeout(
            "query timed out in expression evaluation".into(),
        )),
    }
}

/// `{"resultType":...,"result":...}` for a query's value.
pub fn encode(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"resultType":""#);
    out.push_str(value.type_name());
    out.push_str(r#"","result":"#);
    match value {
        Value::Scalar { t, v } => point(&mut out, *t, *v),
        Value::String { t, v } => {
            out.push('[');
            timestamp(&mut out, *t);
            out.push(',');
            json_str(&mut out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                json_labels(&mut out, &s.labels);
                out.push_str(r#","value":"#);
                point(&mut out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                json_labels(&mut out, &s.labels);
                out.push_str(r#","values":["#);
                for (j, (t, v)) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    point(&mut out, *t, *v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

/// `[seconds,"value"]`.
fn point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    timestamp(out, t);
    out.push_str(",\"");
    out.push_str(&format_value(v));
    out.push_str("\"]");
}

/// Milliseconds as seconds with a fraction, as Prometheus's
/// `marshalTimestamp` writes them (`1435781451.781`, `1435781451`).
pub fn timestamp(out: &mut String, t: i64) {
    let abs = t.unsigned_abs();
    if t < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 1000);
    let fraction = abs % 1000;
    if fraction != 0 {
        let _ = write!(out, ".{fraction:03}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_promql::InstantSample;
    use sonde_tsdb::Labels;

    #[test]
    fn values_as_go_writes_them() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(1e-7), "0.0000001");
        assert_eq!(format_value(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn timestamps_as_prometheus_writes_them() {
        let ts = |t| {
            let mut s = String::new();
            timestamp(&mut s, t);
            s
        };
        assert_eq!(ts(1_435_781_451_781), "1435781451.781");
        assert_eq!(ts(1_435_781_451_000), "1435781451");
        assert_eq!(ts(1_435_781_451_005), "1435781451.005");
        assert_eq!(ts(1_435_781_451_050), "1435781451.050");
        assert_eq!(ts(-1500), "-1.500");
    }

    #[test]
    fn encodes_a_vector() {
        let labels = Labels::new([("__name__", "up"), ("job", "a\"b")]).unwrap();
        let v = Value::Vector(vec![InstantSample {
            labels,
            t: 1500,
            v: 1.0,
        }]);
        let json: serde_json::Value = serde_json::from_str(&encode(&v)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1.5,"1"]}]})
        );
        let s = encode(&Value::String {
            t: 0,
            v: "x".into(),
        });
        assert_eq!(s, r#"{"resultType":"string","result":[0,"x"]}"#);
    }
}
