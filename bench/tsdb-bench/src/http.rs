//! A minimal HTTP/1.0 GET client over one new TCP connection per request
//! (TCP_NODELAY; the server closes after the response, so the body is read
//! to the end, never chunked): the same cost for every server, and no
//! client-side pooling effects in the latencies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context};

/// The body of `GET target` from `addr` (`host:port`); fails unless the
/// status is 200 or a Prometheus API error with a JSON body (4xx/5xx).
pub fn get(addr: &str, target: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(format!("GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8(response).context("response is not UTF-8")?;
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("no end of headers in {} bytes", text.len());
    };
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" && !body.starts_with('{') {
        bail!("HTTP {status}: {}", &body[..body.len().min(200)]);
    }
    Ok(body.to_string())
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes() {
        assert_eq!(
            super::encode("a b{c=\"d\"}[5m]"),
            "a%20b%7Bc%3D%22d%22%7D%5B5m%5D"
        );
    }
}
