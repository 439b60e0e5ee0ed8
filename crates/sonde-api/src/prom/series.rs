//! `/api/v1/series`: the label sets of the series that match any
//! `match[]` selector with a sample in `[start, end]`.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::Response;
use sonde_tsdb::Labels;

use super::envelope::{success, PromError};
use super::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use super::{blocking, json_labels, selector, PromState};

pub async fn series(State(state): State<PromState>, params: Params) -> Result<Response, PromError> {
    let selectors = params.all("match[]");
    if selectors.is_empty() {
        return Err(PromError::BadData("no match[] parameter provided".into()));
    }
    let sets = selector::parse_all(&selectors)?;
    let (start, end) = range(&params)?;
    let limit = params.limit("limit")?;
    let data = blocking(move || {
        let mut all = BTreeSet::<Labels>::new();
        for set in &sets {
            all.extend(
                state
                    .db
                    .series(set, start, end)
                    .map_err(|e| PromError::Internal(e.to_string()))?,
            );
        }
        let mut out = String::from("[");
        for (i, labels) in all.iter().enumerate() {
            if limit > 0 && i == limit {
                break;
            }
            if i > 0 {
                out.push(',');
            }
            json_labels(&mut out, labels);
        }
        out.push(']');
        Ok(out)
    })
    .await?;
    Ok(success(&data))
}

/// `start` and `end`, each defaulting to the widest range.
pub(super) fn range(params: &Params) -> Result<(i64, i64), PromError> {
    Ok((
        params.time_or("start", MIN_TIME_MS)?,
        params.time_or("end", MAX_TIME_MS)?,
    ))
}
