//! `/api/v1/labels` and `/api/v1/label/{name}/values`: label names and one
//! label's values over the series that match any `match[]` (every series
//! when there is none) with a sample in `[start, end]`.

use std::collections::BTreeSet;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use sonde_tsdb::{is_valid_label_name, Matcher};

use super::envelope::{success_json, PromError};
use super::params::Params;
use super::series::range;
use super::{blocking, selector, PromState};

pub async fn names(State(state): State<PromState>, params: Params) -> Result<Response, PromError> {
    let sets = matcher_sets(&params)?;
    let (start, end) = range(&params)?;
    let limit = params.limit("limit")?;
    let names =
        blocking(move || union(&sets, limit, |set| state.db.label_names(set, start, end))).await?;
    Ok(success_json(&names.into()))
}

pub async fn values(
    State(state): State<PromState>,
    name: Result<Path<String>, PathRejection>,
    params: Params,
) -> Result<Response, PromError> {
    let Path(name) = name.map_err(|e| PromError::BadData(e.body_text()))?;
    if !is_valid_label_name(&name) {
        return Err(PromError::BadData(format!("invalid label name: {name:?}")));
    }
    let sets = matcher_sets(&params)?;
    let (start, end) = range(&params)?;
    let limit = params.limit("limit")?;
    let values = blocking(move || {
        union(&sets, limit, |set| {
            state.db.label_values(&name, set, start, end)
        })
    })
    .await?;
    Ok(success_json(&values.into()))
}

/// The `match[]` sets; one empty set (every series) when there is none.
fn matcher_sets(params: &Params) -> Result<Vec<Vec<Matcher>>, PromError> {
    let selectors = params.all("match[]");
    if selectors.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    selector::parse_all(&selectors)
}

/// The sorted union of `read` over every set, cut at `limit` (0: no limit).
fn union<E: std::fmt::Display>(
    sets: &[Vec<Matcher>],
    limit: usize,
    read: impl Fn(&[Matcher]) -> Result<Vec<String>, E>,
) -> Result<Vec<String>, PromError> {
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(read(set).map_err(|e| PromError::Internal(e.to_string()))?);
    }
    let mut all: Vec<String> = all.into_iter().collect();
    if limit > 0 {
        all.truncate(limit);
    }
    Ok(all)
}
