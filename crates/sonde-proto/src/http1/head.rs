//! Message heads: start lines and header lines, validated as strictly as llhttp's
//! default (non-lenient) mode.

use super::Http1Error;

/// Methods llhttp accepts with `HTTP/`.
const HTTP_METHODS: &[&str] = &[
    "DELETE",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "COPY",
    "LOCK",
    "MKCOL",
    "MOVE",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "UNLOCK",
    "BIND",
    "REBIND",
    "UNBIND",
    "ACL",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PATCH",
    "PURGE",
    "MKCALENDAR",
    "LINK",
    "UNLINK",
    "SOURCE",
    "PRI",
    "QUERY",
];

/// Methods llhttp accepts with `RTSP/`.
const RTSP_METHODS: &[&str] = &[
    "OPTIONS",
    "DESCRIBE",
    "ANNOUNCE",
    "SETUP",
    "PLAY",
    "PAUSE",
    "TEARDOWN",
    "GET_PARAMETER",
    "SET_PARAMETER",
    "REDIRECT",
    "RECORD",
    "FLUSH",
    "GET",
    "POST",
];

/// Longest known method, used to bound inference and resynchronisation look-ahead.
pub const MAX_METHOD_LEN: usize = 13;

/// Whether `m` is a method known with any protocol.
pub fn is_known_method(m: &[u8]) -> bool {
    HTTP_METHODS
        .iter()
        .chain(RTSP_METHODS)
        .any(|k| k.as_bytes() == m)
}

/// Whether some known method starts with `prefix` (used on partial input).
pub fn is_method_prefix(prefix: &[u8]) -> bool {
    HTTP_METHODS
        .iter()
        .chain(RTSP_METHODS)
        .any(|k| k.as_bytes().starts_with(prefix))
}

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD target PROTO/x.y`
    Request {
        /// Request method.
        method: String,
        /// Request target, verbatim.
        target: String,
    },
    /// `PROTO/x.y status reason`
    Response {
        /// Status code.
        status: u16,
        /// Reason phrase (may be empty).
        reason: String,
    },
}

/// A header field as sent (name case preserved, value without surrounding whitespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Field name.
    pub name: String,
    /// Field value.
    pub value: String,
}

/// A parsed message head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Request or status line.
    pub start: StartLine,
    /// Protocol name: `HTTP`, or `RTSP`/`ICE` which llhttp also accepts.
    pub protocol: String,
    /// Major version digit.
    pub major: u8,
    /// Minor version digit.
    pub minor: u8,
    /// Header fields in order.
    pub headers: Vec<Header>,
    /// Bytes of the head on the wire, final empty line included.
    pub wire_len: u64,
}

impl Head {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// All values of header `name` (case-insensitive).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Whether a comma-separated header `name` lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers_named(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The version as `"1.1"`.
    pub fn version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Request method, if this is a request.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// Status code, if this is a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }
}

/// RFC 9110 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Bytes allowed in a header value or reason phrase: HTAB, SP, VCHAR, obs-text.
fn is_field_char(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// Bytes allowed in a request target (llhttp strict: visible ASCII only).
fn is_target_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// UTF-8 when valid, else ISO-8859-1 (HTTP's historical charset for obs-text), so no
/// byte is lost.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parse `PROTO/x.y`, checking the protocol is allowed for `method` (None for responses).
fn parse_version(v: &[u8], method: Option<&str>) -> Result<(String, u8, u8), Http1Error> {
    let slash = v
        .iter()
        .position(|&b| b == b'/')
        .ok_or(Http1Error::InvalidProtocol)?;
    let (proto, rest) = v.split_at(slash);
    let allowed = match (proto, method) {
        (b"HTTP" | b"RTSP" | b"ICE", None) => true,
        (b"HTTP", Some(m)) => HTTP_METHODS.contains(&m),
        (b"RTSP", Some(m)) => RTSP_METHODS.contains(&m),
        (b"ICE", Some(m)) => m == "SOURCE",
        _ => false,
    };
    if !allowed {
        return Err(Http1Error::InvalidProtocol);
    }
    match rest {
        [b'/', maj, b'.', min] if maj.is_ascii_digit() && min.is_ascii_digit() => {
            let (major, minor) = (maj - b'0', min - b'0');
            let known = matches!((major, minor), (0, 9) | (1, 0) | (1, 1) | (2, 0));
            if known {
                Ok((text(proto), major, minor))
            } else {
                Err(Http1Error::InvalidVersion)
            }
        }
        _ => Err(Http1Error::InvalidVersion),
    }
}

/// Parse a request line (without its CRLF).
pub fn parse_request_line(line: &[u8]) -> Result<(StartLine, String, u8, u8), Http1Error> {
    let mut parts = line.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) || !is_known_method(method) {
        return Err(Http1Error::InvalidMethod);
    }
    let method = text(method);
    let target = parts.next().ok_or(Http1Error::InvalidTarget)?;
    if target.is_empty() || !target.iter().all(|&b| is_target_char(b)) {
        return Err(Http1Error::InvalidTarget);
    }
    let version = parts.next().ok_or(Http1Error::InvalidProtocol)?;
    if parts.next().is_some() {
        return Err(Http1Error::InvalidVersion);
    }
    let (proto, major, minor) = parse_version(version, Some(&method))?;
    let start = StartLine::Request {
        method,
        target: text(target),
    };
    Ok((start, proto, major, minor))
}

/// Parse a status line (without its CRLF).
pub fn parse_status_line(line: &[u8]) -> Result<(StartLine, String, u8, u8), Http1Error> {
    let sp = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or(Http1Error::InvalidVersion)?;
    let (version, rest) = line.split_at(sp);
    let (proto, major, minor) = parse_version(version, None)?;
    let rest = rest.get(1..).unwrap_or_default();
    let (code, reason) = match rest.get(3) {
        None => (rest, &[][..]),
        Some(b' ') => (
            rest.get(..3).unwrap_or_default(),
            rest.get(4..).unwrap_or_default(),
        ),
        Some(_) => return Err(Http1Error::InvalidStatus),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(Http1Error::InvalidStatus);
    }
    if !reason.iter().all(|&b| is_field_char(b)) {
        return Err(Http1Error::InvalidStatus);
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let start = StartLine::Response {
        status,
        reason: text(reason),
    };
    Ok((start, proto, major, minor))
}

/// Parse a header line (without its CRLF).
pub fn parse_header_line(line: &[u8]) -> Result<Header, Http1Error> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(Http1Error::InvalidHeaderName)?;
    let (name, value) = line.split_at(colon);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(Http1Error::InvalidHeaderName);
    }
    let value = value.get(1..).unwrap_or_default();
    if !value.iter().all(|&b| is_field_char(b)) {
        return Err(Http1Error::InvalidHeaderValue);
    }
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |e| e + 1);
    Ok(Header {
        name: text(name),
        value: text(value.get(start..end).unwrap_or_default()),
    })
}
