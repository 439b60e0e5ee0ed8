use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Every API failure, mapped to its HTTP status in one place. The body is
/// Prometheus-style: `{"status":"error","errorType":...,"error":...}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("event store: {0}")]
    Store(#[from] sonde_store::StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody {
    status: &'static str,
    #[serde(rename = "errorType")]
    error_type: &'static str,
    error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = match &self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_data"),
            ApiError::Store(_) | ApiError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        };
        let body = ErrorBody {
            status: "error",
            error_type,
            error: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}
