//! The request filters: response status (HTTP code or class, DNS rcode) and
//! target (prefix or glob).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{AppProtocol, Request};

/// Which responses to keep: `5xx`, `404`, or a DNS rcode name (`NXDOMAIN`).
/// HTTP matches match HTTP requests only, rcodes DNS requests only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StatusMatch {
    /// A class of HTTP status: `5` for `5xx`.
    HttpClass(u8),
    /// One HTTP status code.
    Http(u16),
    /// One DNS response code (with EDNS's extended bits).
    DnsRcode(u16),
}

/// Why a status filter did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStatusError(String);

impl fmt::Display for ParseStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown status `{}`; expected an HTTP class (1xx–5xx), an HTTP code (100–599) or a DNS rcode name (NOERROR, NXDOMAIN, SERVFAIL, …)",
            self.0
        )
    }
}

impl std::error::Error for ParseStatusError {}

/// The highest rcode `rcode_name` names.
const RCODE_MAX: u16 = 23;

impl FromStr for StatusMatch {
    type Err = ParseStatusError;

    fn from_str(s: &str) -> Result<Self, ParseStatusError> {
        let err = || ParseStatusError(s.to_string());
        let bytes = s.as_bytes();
        if bytes.len() == 3 && bytes[1..].eq_ignore_ascii_case(b"xx") {
            return match bytes[0] {
                b @ b'1'..=b'5' => Ok(StatusMatch::HttpClass(b - b'0')),
                _ => Err(err()),
            };
        }
        if bytes.iter().all(u8::is_ascii_digit) && !bytes.is_empty() {
            return match s.parse::<u16>() {
                Ok(code @ 100..=599) => Ok(StatusMatch::Http(code)),
                _ => Err(err()),
            };
        }
        (0..=RCODE_MAX)
            .find(|&r| {
                let name = sonde_proto::rcode_name(r);
                name != "UNKNOWN" && name.eq_ignore_ascii_case(s)
            })
            .map(StatusMatch::DnsRcode)
            .ok_or_else(err)
    }
}

impl fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatch::HttpClass(class) => write!(f, "{class}xx"),
            StatusMatch::Http(code) => write!(f, "{code}"),
            StatusMatch::DnsRcode(rcode) => f.write_str(sonde_proto::rcode_name(*rcode)),
        }
    }
}

impl TryFrom<String> for StatusMatch {
    type Error = ParseStatusError;

    fn try_from(s: String) -> Result<Self, ParseStatusError> {
        s.parse()
    }
}

impl From<StatusMatch> for String {
    fn from(m: StatusMatch) -> String {
        m.to_string()
    }
}

impl StatusMatch {
    pub fn matches(self, r: &Request) -> bool {
        let Some(status) = r.status else {
            return false;
        };
        match (self, r.protocol) {
            (StatusMatch::HttpClass(class), AppProtocol::Http) => status / 100 == u16::from(class),
            (StatusMatch::Http(code), AppProtocol::Http) => status == code,
            (StatusMatch::DnsRcode(rcode), AppProtocol::Dns) => status == rcode,
            _ => false,
        }
    }
}

/// `pattern` as a prefix of `target`, or, when it holds a `*`, as a glob
/// over the whole target where `*` stands for any run of characters.
pub fn target_matches(pattern: &str, target: &str) -> bool {
    if !pattern.contains('*') {
        return target.starts_with(pattern);
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = target.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_classes_codes_and_rcodes() {
        let parse = |s: &str| s.parse::<StatusMatch>();
        assert_eq!(parse("5xx"), Ok(StatusMatch::HttpClass(5)));
        assert_eq!(parse("4XX"), Ok(StatusMatch::HttpClass(4)));
        assert_eq!(parse("404"), Ok(StatusMatch::Http(404)));
        assert_eq!(parse("NXDOMAIN"), Ok(StatusMatch::DnsRcode(3)));
        assert_eq!(parse("servfail"), Ok(StatusMatch::DnsRcode(2)));
        assert_eq!(parse("NOERROR"), Ok(StatusMatch::DnsRcode(0)));
        assert_eq!(parse("BADCOOKIE"), Ok(StatusMatch::DnsRcode(23)));
        for bad in [
            "6xx", "0xx", "99", "600", "70000", "", "UNKNOWN", "5x", "xx5",
        ] {
            assert_eq!(parse(bad), Err(ParseStatusError(bad.into())), "{bad}");
        }
        assert_eq!(
            parse("6xx").unwrap_err().to_string(),
            "unknown status `6xx`; expected an HTTP class (1xx–5xx), an HTTP code (100–599) or a DNS rcode name (NOERROR, NXDOMAIN, SERVFAIL, …)"
        );
    }

    #[test]
    fn round_trips_through_text_and_json() {
        for text in ["2xx", "503", "NXDOMAIN"] {
            let m: StatusMatch = text.parse().unwrap();
            assert_eq!(m.to_string(), text);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<StatusMatch>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<StatusMatch>("\"6xx\"").is_err());
    }

    #[test]
    fn targets_match_by_prefix_or_glob() {
        assert!(target_matches("/api", "/api/v1/users"));
        assert!(target_matches("/api", "/api"));
        assert!(!target_matches("/api", "/v1/api"));
        assert!(target_matches("/api/*/users", "/api/v1/users"));
        assert!(!target_matches("/api/*/users", "/api/v1/users/7"));
        assert!(target_matches("/api/*/users*", "/api/v1/users/7"));
        assert!(target_matches("*.example.com", "www.example.com"));
        assert!(!target_matches("*.example.com", "example.com"));
        assert!(target_matches("*", ""));
        assert!(target_matches("/a*b*c", "/abc"));
        assert!(!target_matches("/a*b*c", "/acb"));
        // The middle part must not reuse the bytes of the last one.
        assert!(!target_matches("/ab*b", "/ab"));
    }
}
