//! The JSON envelope of Prometheus's HTTP API, and the one place where a
//! [`PromError`] becomes an HTTP status and an `errorType`.
//!
//! Success: `{"status":"success","data":...}`; failure:
//! `{"status":"error","errorType":"bad_data","error":"..."}`, with the
//! codes Prometheus uses: `bad_data` 400, `execution` 422, `timeout` and
//! `canceled` 503, `internal` 500.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sonde_promql::{ErrorKind, QueryError};

/// Every way a Prometheus API request can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromError {
    /// The request is malformed: a bad parameter, a query that does not
    /// parse, an undecodable remote-write body.
    #[error("{0}")]
    BadData(String),
    /// The query parsed but failed while running.
    #[error("{0}")]
    Execution(String),
    /// The query ran past its timeout.
    #[error("{0}")]
    Timeout(String),
    /// The query was cancelled.
    #[error("{0}")]
    Canceled(String),
    /// A request body in a format this server does not take (remote write 2.0).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// sonde itself failed.
    #[error("{0}")]
    Internal(String),
}

impl PromError {
    /// Prometheus's `errorType` and HTTP status for this error.
    pub fn kind(&self) -> (&'static str, StatusCode) {
        match self {
            PromError::BadData(_) => ("bad_data", StatusCode::BAD_REQUEST),
            PromError::Execution(_) => ("execution", StatusCode::UNPROCESSABLE_ENTITY),
            PromError::Timeout(_) => ("timeout", StatusCode::SERVICE_UNAVAILABLE),
            PromError::Canceled(_) => ("canceled", StatusCode::SERVICE_UNAVAILABLE),
            PromError::UnsupportedMediaType(_) => ("bad_data", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            PromError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// `invalid parameter "name": why`, as Prometheus words a bad parameter.
    pub fn param(name: &str, why: impl std::fmt::Display) -> Self {
        PromError::BadData(format!("invalid parameter {name:?}: {why}"))
    }
}

impl From<QueryError> for PromError {
    fn from(e: QueryError) -> Self {
        match e.kind {
            // Prometheus reports a query that does not parse (the errors
            // with a position) as a bad `query` parameter, and other
            // refusals (a string for a range query) as they are.
            ErrorKind::BadData if e.position.is_some() => PromError::param("query", e.message),
            ErrorKind::BadData => PromError::BadData(e.message),
            ErrorKind::Execution => PromError::Execution(e.message),
            ErrorKind::Timeout => PromError::Timeout(e.message),
            ErrorKind::Canceled => PromError::Canceled(e.message),
        }
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let (error_type, status) = self.kind();
        let body = serde_json::json!({
            "status": "error",
            "errorType": error_type,
            "error": self.to_string(),
        });
        json_response(status, body.to_string())
    }
}

/// `{"status":"success","data":<data>}` where `data` is already JSON text.
pub fn success(data: &str) -> Response {
    let mut body = String::with_capacity(data.len() + 32);
    body.push_str(r#"{"status":"success","data":"#);
    body.push_str(data);
    body.push('}');
    json_response(StatusCode::OK, body)
}

/// `{"status":"success","data":<data>}` for serializable data.
pub fn success_json(data: &serde_json::Value) -> Response {
    success(&data.to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
