//! RED metrics (rate, errors, duration) per service and endpoint. Paths are
//! templated so that ids do not become series: `/users/42/orders` →
//! `/users/{id}/orders`; the series budget bounds whatever is left.

use sonde_event::{AppProtocol, Request};

use crate::labelled_histogram::LabelledHistogram;
use crate::stats::workload_label;

/// Series of `sonde_request_duration_seconds` kept before overflow.
pub const ENDPOINT_SERIES_BUDGET: usize = 2000;

/// (protocol, service, endpoint, status) → latency histogram and errors.
pub type RequestMetrics = LabelledHistogram<4, ENDPOINT_SERIES_BUDGET>;

const MAX_SEGMENTS: usize = 8;

pub fn observe(metrics: &RequestMetrics, r: &Request) {
    let protocol = match (r.protocol, r.tls) {
        (AppProtocol::Http, true) => "https",
        (AppProtocol::Http, false) => "http",
        (AppProtocol::Dns, _) => "dns",
    };
    let service = match &r.server_process {
        Some(w) => workload_label(Some(w)),
        None => format!("{}:{}", r.server.ip, r.server.port),
    };
    let endpoint = match r.protocol {
        AppProtocol::Http => format!("{} {}", r.method, template_path(&r.target)),
        AppProtocol::Dns => {
            let qtype = r.dns.as_ref().and_then(|d| d.questions.first());
            format!("{} {}", r.method, qtype.map_or("-", |q| q.qtype.as_str()))
        }
    };
    let status = match (r.protocol, r.status) {
        (_, None) => "none".to_string(),
        (AppProtocol::Http, Some(s)) => format!("{}xx", s / 100),
        (AppProtocol::Dns, Some(_)) => r
            .dns
            .as_ref()
            .and_then(|d| d.rcode_name.clone())
            .unwrap_or_default(),
    };
    metrics.observe(
        [protocol.to_string(), service, endpoint, status],
        r.latency_ns.map(|ns| ns as f64 / 1e9),
        r.is_error(),
    );
}

/// The path without its query, with id-like segments replaced by `{id}`.
pub fn template_path(target: &str) -> String {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        // `*`, an absolute URI, or an authority (CONNECT): keep only its kind.
        return if path == "*" {
            "*".into()
        } else {
            "{uri}".into()
        };
    }
    let mut out = String::new();
    for (i, segment) in path.split('/').skip(1).enumerate() {
        if i == MAX_SEGMENTS {
            out.push_str("/{rest}");
            break;
        }
        out.push('/');
        out.push_str(if is_id(segment) { "{id}" } else { segment });
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn is_id(segment: &str) -> bool {
    let digits = segment.bytes().filter(u8::is_ascii_digit).count();
    let hex = segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    !segment.is_empty()
        && (digits == segment.len()
            || (hex && digits > 0 && segment.len() >= 16)
            || (digits >= 4 && segment.len() >= 20)
            || segment.len() > 64)
}

#[cfg(test)]
mod tests {
    use super::template_path;

    #[test]
    fn ids_become_placeholders_and_queries_go() {
        for (path, want) in [
            ("/", "/"),
            ("/index.html", "/index.html"),
            ("/users/42/orders?page=2", "/users/{id}/orders"),
            ("/o/123e4567-e89b-12d3-a456-426614174000", "/o/{id}"),
            ("/blob/9f86d081884c7d659a2feaa0c55ad015", "/blob/{id}"),
            ("/status/404", "/status/{id}"),
            ("/v1/api", "/v1/api"),
            ("/a/b/c/d/e/f/g/h/i/j", "/a/b/c/d/e/f/g/h/{rest}"),
            ("*", "*"),
            ("http://example.com/x", "{uri}"),
        ] {
            assert_eq!(template_path(path), want, "{path}");
        }
    }
}
