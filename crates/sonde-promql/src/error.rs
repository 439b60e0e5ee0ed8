//! Query errors, typed as Prometheus's API types them.

/// Prometheus's `errorType`s that a query can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query does not parse or is not valid (HTTP 400, `bad_data`).
    BadData,
    /// The query failed while running, e.g. over the sample limit (HTTP 422,
    /// `execution`).
    Execution,
    /// The query ran past its timeout (HTTP 503, `timeout`).
    Timeout,
    /// The query was cancelled (HTTP 503, `canceled`).
    Canceled,
}

impl ErrorKind {
    /// The `errorType` string of Prometheus's API.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
        }
    }
}

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub kind: ErrorKind,
    pub message: String,
    /// For parse errors: the byte offset in the query where it went wrong.
    pub position: Option<usize>,
}

impl QueryError {
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadData,
            message: message.into(),
            position: None,
        }
    }

    pub fn execution(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Execution,
            message: message.into(),
            position: None,
        }
    }
}
