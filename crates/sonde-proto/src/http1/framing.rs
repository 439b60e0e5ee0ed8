//! Body framing: how a message's body is delimited, and the chunked decoder.

use super::head::{is_tchar, Head};
use super::Http1Error;

/// How the body of the current message ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many body bytes remain.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunk),
    /// The body runs until the connection closes.
    UntilClose,
}

/// Position inside a chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Reading a chunk size line (kept in the parser's line buffer).
    Size,
    /// This many bytes of chunk data remain.
    Data(u64),
    /// Expecting the CRLF after chunk data; `true` once CR was seen.
    DataEnd(bool),
    /// Reading trailer lines after the last chunk.
    Trailers,
}

/// What the request being answered changes about a response's framing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answering {
    /// The request was `HEAD`: the response has no body whatever its headers say.
    pub head: bool,
    /// The request was `CONNECT`: a 2xx response starts a tunnel.
    pub connect: bool,
}

/// Framing of a message, or `None` when it has no body; plus whether the
/// connection stops being HTTP after it.
pub fn decide(head: &Head, answering: Answering) -> Result<(Option<Framing>, bool), Http1Error> {
    let te: Vec<&str> = head
        .headers_named("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut lengths = head.headers_named("content-length");
    let length = match (lengths.next(), lengths.next()) {
        (None, _) => None,
        (Some(v), None) => Some(parse_length(v)?),
        (Some(_), Some(_)) => return Err(Http1Error::InvalidContentLength),
    };
    if !te.is_empty() && length.is_some() {
        return Err(Http1Error::ContentLengthWithTransferEncoding);
    }
    let chunked = te.last().is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    let te_chunked_not_last = te
        .iter()
        .rev()
        .skip(1)
        .any(|t| t.eq_ignore_ascii_case("chunked"));
    match head.status() {
        None => {
            if head.method() == Some("CONNECT") {
                // What follows a CONNECT head is the tunnel, whatever the headers say.
                return Ok((None, true));
            }
            let upgrade =
                head.header("upgrade").is_some() && head.has_token("connection", "upgrade");
            if te_chunked_not_last || (!te.is_empty() && !chunked) {
                return Err(Http1Error::InvalidTransferEncoding);
            }
            let framing = if chunked {
                Some(Framing::Chunked(Chunk::Size))
            } else {
                length.filter(|&n| n > 0).map(Framing::Length)
            };
            Ok((framing, upgrade))
        }
        Some(status) => {
            let tunnel = answering.connect && (200..300).contains(&status);
            if status == 101 || tunnel {
                return Ok((None, true));
            }
            if answering.head || (100..200).contains(&status) || status == 204 || status == 304 {
                return Ok((None, false));
            }
            let framing = if chunked {
                Framing::Chunked(Chunk::Size)
            } else if !te.is_empty() {
                Framing::UntilClose
            } else {
                match length {
                    Some(0) => return Ok((None, false)),
                    Some(n) => Framing::Length(n),
                    None => Framing::UntilClose,
                }
            };
            Ok((Some(framing), false))
        }
    }
}

pub fn parse_length(v: &str) -> Result<u64, Http1Error> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Http1Error::InvalidContentLength);
    }
    v.bytes()
        .try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(Http1Error::InvalidContentLength)
}

/// Parse a chunk size line (without CRLF): `hex[;name[=value]]*`.
pub fn parse_chunk_size(line: &[u8]) -> Result<u64, Http1Error> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(Http1Error::InvalidChunkSize);
    }
    let (hex, mut rest) = line.split_at(digits);
    let size = hex
        .iter()
        .try_fold(0u64, |n, &d| {
            let v = (d as char).to_digit(16)?;
            n.checked_mul(16)?.checked_add(u64::from(v))
        })
        .ok_or(Http1Error::InvalidChunkSize)?;
    if rest.first().is_some_and(|&b| b != b';') {
        return Err(Http1Error::InvalidChunkSize);
    }
    while let Some((b';', after)) = rest.split_first() {
        rest = parse_extension(after)?;
    }
    if rest.is_empty() {
        Ok(size)
    } else {
        Err(Http1Error::InvalidChunkExtension)
    }
}

/// One `name[=value]` extension; returns what follows it.
fn parse_extension(ext: &[u8]) -> Result<&[u8], Http1Error> {
    let name = ext.iter().take_while(|&&b| is_tchar(b)).count();
    if name == 0 {
        return Err(Http1Error::InvalidChunkExtension);
    }
    let rest = ext.get(name..).unwrap_or_default();
    let Some((b'=', value)) = rest.split_first() else {
        return Ok(rest);
    };
    if let Some((b'"', quoted)) = value.split_first() {
        let mut i = 0;
        while let Some(&b) = quoted.get(i) {
            match b {
                b'"' => return Ok(quoted.get(i + 1..).unwrap_or_default()),
                b'\\' => i += 2,
                b'\t' | b' ' | 0x21..=0x7e | 0x80.. => i += 1,
                _ => return Err(Http1Error::InvalidChunkExtension),
            }
        }
        return Err(Http1Error::InvalidChunkExtension);
    }
    let token = value.iter().take_while(|&&b| is_tchar(b)).count();
    if token == 0 {
        return Err(Http1Error::InvalidChunkExtension);
    }
    Ok(value.get(token..).unwrap_or_default())
}
