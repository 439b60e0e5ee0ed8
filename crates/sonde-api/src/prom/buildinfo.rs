//! `/api/v1/status/buildinfo`: what Grafana and other clients read to learn
//! which server they talk to. The fields are Prometheus's; the values are
//! sonde's.

use axum::response::Response;
use serde_json::json;

use super::envelope::success_json;

pub async fn buildinfo() -> Response {
    success_json(&json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("SONDE_GIT_REVISION").unwrap_or(""),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    }))
}
