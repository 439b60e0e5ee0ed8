//! `/api/v1/metadata`: type, help and unit per metric family, as recorded
//! by whatever wrote the samples (remote write, sonde's own metrics).

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::envelope::{success_json, PromError};
use super::params::Params;
use super::PromState;

pub async fn metadata(
    State(state): State<PromState>,
    params: Params,
) -> Result<Response, PromError> {
    let limit = params.limit("limit")?;
    let per_metric = params.limit("limit_per_metric")?;
    let all = state.db.metadata().get(params.get("metric"));
    let mut data = Map::new();
    for (metric, entries) in all {
        if limit > 0 && data.len() == limit {
            break;
        }
        let take = if per_metric > 0 {
            per_metric
        } else {
            usize::MAX
        };
        let entries: Vec<Value> = entries
            .iter()
            .take(take)
            .map(|m| json!({"type": m.metric_type.as_str(), "help": m.help, "unit": m.unit}))
            .collect();
        data.insert(metric, Value::Array(entries));
    }
    Ok(success_json(&Value::Object(data)))
}
