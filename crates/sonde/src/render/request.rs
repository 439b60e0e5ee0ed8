//! How request events look on a terminal: a line for `-o compact`, and the
//! columns of `sonde requests -o table`.

use sonde_event::{AppProtocol, Endpoint, Request, Workload};

use super::{endpoint, humantime_short, owner};

/// Text from the network, with control characters escaped so that it cannot
/// steer the terminal.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `width` characters, the last one `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `http`, `https` (read from TLS plaintext) or `dns`.
fn protocol(r: &Request) -> &'static str {
    match (r.protocol, r.tls) {
        (AppProtocol::Http, false) => "http",
        (AppProtocol::Http, true) => "https",
        (AppProtocol::Dns, _) => "dns",
    }
}

/// The HTTP status code or the DNS rcode's name; `-` without a response.
fn status(r: &Request) -> String {
    match (r.protocol, r.status) {
        (_, None) => "-".into(),
        (AppProtocol::Http, Some(code)) => code.to_string(),
        (AppProtocol::Dns, Some(rcode)) => r
            .dns
            .as_ref()
            .and_then(|d| d.rcode_name.clone())
            .unwrap_or_else(|| rcode.to_string()),
    }
}

fn latency(r: &Request) -> String {
    r.latency_ns.map_or_else(|| "-".into(), humantime_short)
}

fn flags(r: &Request) -> String {
    let flags: Vec<&str> = r.flags.iter().map(|f| f.as_str()).collect();
    flags.join(",")
}

pub fn line(r: &Request) -> String {
    let mut line = format!(
        "{} {}{} -> {}{} {} {} {} {} req={}B resp={}B",
        protocol(r),
        endpoint(Some(&r.client)),
        owner(r.client_process.as_ref()),
        endpoint(Some(&r.server)),
        owner(r.server_process.as_ref()),
        printable(&r.method),
        printable(&r.target),
        status(r),
        latency(r),
        r.request_bytes,
        r.response_bytes,
    );
    if !r.flags.is_empty() {
        line.push_str(&format!(" flags={}", flags(r)));
    }
    line
}

pub fn header() -> String {
    columns([
        "TIME", "PROTO", "CLIENT", "SERVER", "METHOD", "TARGET", "STATUS", "LATENCY", "REQ/RESP",
        "FLAGS",
    ])
}

/// `comm[pid]` when the process is known, else the address.
fn end(w: Option<&Workload>, e: &Endpoint) -> String {
    w.map_or_else(|| endpoint(Some(e)), |w| format!("{}[{}]", w.comm, w.pid))
}

fn columns(c: [&str; 10]) -> String {
    let line = format!(
        "{:30} {:5} {:24} {:24} {:7} {:40} {:9} {:>8} {:>15} {}",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    );
    line.trim_end().to_string()
}

pub fn row(r: &Request) -> String {
    let flags = flags(r);
    columns([
        &r.time.to_string(),
        protocol(r),
        &truncate(&end(r.client_process.as_ref(), &r.client), 24),
        &truncate(&end(r.server_process.as_ref(), &r.server), 24),
        &truncate(&printable(&r.method), 7),
        &truncate(&printable(&r.target), 40),
        &truncate(&status(r), 9),
        &latency(r),
        &format!("{}/{}", r.request_bytes, r.response_bytes),
        if flags.is_empty() { "-" } else { &flags },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{describe, Table};
    use sonde_event::Event;

    fn request() -> Request {
        let json = r#"{
            "time": "2026-01-02T03:04:05.000000006Z", "protocol": "http", "tls": true,
            "transport": "tcp",
            "client": {"ip": "10.0.0.1", "port": 40000},
            "server": {"ip": "10.0.0.2", "port": 443},
            "netns": 0, "conn_id": null,
            "client_process": {"exec_id": "", "pid": 42, "comm": "curl",
                               "binary": "/usr/bin/curl", "container": null},
            "server_process": null, "seen_by": "client",
            "method": "GET", "target": "/api/v1/users/0123456789/orders?page=7&x=\u001b[2J",
            "status": 503, "latency_ns": 1500000, "server_latency_ns": null,
            "request_bytes": 78, "response_bytes": 1024,
            "http": null, "dns": null, "flags": ["truncated"]
        }"#;
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn requests_in_the_requests_table() {
        let mut out = Vec::new();
        Table::Requests
            .row(&mut out, &Event::Request(Box::new(request())))
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-01-02T03:04:05.000000006Z https curl[42]                 10.0.0.2:443             \
             GET     /api/v1/users/0123456789/orders?page=7&… 503          1.5ms         78/1024 truncated\n"
        );
        let header = Table::Requests.header();
        assert!(header.starts_with("TIME                           PROTO CLIENT"));
        assert!(header.ends_with("REQ/RESP FLAGS"));
    }

    #[test]
    fn requests_in_compact_lines_escape_control_characters() {
        let mut r = request();
        r.protocol = AppProtocol::Dns;
        r.tls = false;
        r.status = Some(3);
        r.method = "QUERY".into();
        r.flags.clear();
        let line = describe(&Event::Request(Box::new(r.clone())));
        assert_eq!(
            line,
            "dns 10.0.0.1:40000 (curl pid=42) -> 10.0.0.2:443 QUERY \
             /api/v1/users/0123456789/orders?page=7&x=\\u{1b}[2J 3 1.5ms req=78B resp=1024B"
        );
        r.status = None;
        r.latency_ns = None;
        assert!(describe(&Event::Request(Box::new(r))).ends_with(" - - req=78B resp=1024B"));
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("µµµµ", 4), "µµµµ");
        assert_eq!(truncate("µµµµµ", 4), "µµµ…");
    }
}
