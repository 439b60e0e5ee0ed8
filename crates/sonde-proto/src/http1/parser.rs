//! The streaming HTTP/1.x message parser: feed bytes in any split, pull events.

use super::framing::{self, Answering, Chunk, Framing};
use super::head::{self, Head, Header, StartLine};
use super::Http1Error;

/// Which side of the exchange a parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Requests (client to server).
    Request,
    /// Responses (server to client).
    Response,
}

/// Summary of a finished message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Done {
    /// Bytes of the whole message: head, body and chunk framing.
    pub wire_len: u64,
    /// Body bytes (decoded chunk payload when chunked), skipped bytes included.
    pub body_len: u64,
    /// The connection switches protocol after this message (CONNECT, Upgrade, 101).
    pub upgrade: bool,
}

/// What the parser saw next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// The first byte of a new message (leading blank lines excluded).
    Begin,
    /// The head is complete.
    Head(Head),
    /// A slice of body (decoded chunk payload when chunked).
    Body(&'a [u8]),
    /// The message is complete.
    Complete(Done),
}

/// How [`Parser::skip`] accounted for uncaptured bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipOutcome {
    /// Bytes that fell inside a body of known length (or an opaque stream): framing kept.
    pub in_body: u64,
    /// Bytes that broke framing; the parser now resynchronises.
    pub lost: u64,
    /// A message in progress was abandoned.
    pub broke_message: bool,
    /// The start line of the abandoned message, as far as it was read.
    pub partial_start: Option<StartLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Head,
    NoBody,
    Body(Framing),
    Opaque,
    Closed,
    Resync(Vec<u8>),
}

/// A streaming HTTP/1.x parser for one direction of a connection.
///
/// Heads are accumulated up to a limit; bodies are never buffered, only sliced
/// from the input. Call [`Parser::advance`] until it returns `Ok(None)`. After an
/// error the parser resynchronises on its own: it discards input until something
/// that starts a message.
#[derive(Debug, Clone)]
pub struct Parser {
    kind: Kind,
    max_head: usize,
    state: State,
    line: Vec<u8>,
    head_bytes: usize,
    start: Option<(StartLine, String, u8, u8)>,
    headers: Vec<Header>,
    in_message: bool,
    wire: u64,
    body: u64,
    upgrade_after: bool,
    opaque_after: bool,
    close_after: bool,
    resync_after: bool,
    answering: Answering,
    discarded: u64,
    abandoned: Option<StartLine>,
}

enum Candidate {
    Yes,
    No,
    NeedMore,
}

impl Parser {
    /// A parser for `kind` messages whose heads may not exceed `max_head` bytes.
    pub fn new(kind: Kind, max_head: usize) -> Self {
        Parser {
            kind,
            max_head,
            state: State::Head,
            line: Vec::new(),
            head_bytes: 0,
            start: None,
            headers: Vec::new(),
            in_message: false,
            wire: 0,
            body: 0,
            upgrade_after: false,
            opaque_after: false,
            close_after: false,
            resync_after: false,
            answering: Answering::default(),
            discarded: 0,
            abandoned: None,
        }
    }

    /// Start in resynchronising mode: skip input until something that starts a message
    /// (used when attaching to a connection mid-stream).
    pub fn resynchronising(mut self) -> Self {
        self.state = State::Resync(Vec::new());
        self
    }

    /// For a response parser: the method of the request the next response answers
    /// (`HEAD` responses have no body, `CONNECT` 2xx opens a tunnel).
    pub fn set_answering(&mut self, method: Option<&str>) {
        self.answering = Answering {
            head: method == Some("HEAD"),
            connect: method == Some("CONNECT"),
        };
    }

    /// Whether a message has begun and not completed.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Whether the parser passed an upgrade and now ignores everything.
    pub fn is_opaque(&self) -> bool {
        self.state == State::Opaque
    }

    /// Leave opaque mode (e.g. the tunnel a CONNECT asked for was refused).
    pub fn resume(&mut self) {
        if self.state == State::Opaque {
            self.state = State::Head;
        }
    }

    /// The start line of the message the last error abandoned, as far as it was read.
    pub fn take_abandoned(&mut self) -> Option<StartLine> {
        self.abandoned.take()
    }

    /// Bytes discarded while resynchronising.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Upcoming bytes that are body of known length (the caller need not capture them).
    pub fn skippable(&self) -> u64 {
        match self.state {
            State::Body(Framing::Length(n)) | State::Body(Framing::Chunked(Chunk::Data(n))) => n,
            _ => 0,
        }
    }

    /// Pull the next event, consuming from `input`. `Ok(None)` means more input is needed.
    pub fn advance<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Event<'a>>, Http1Error> {
        let result = self.step(input);
        if result.is_err() {
            self.abandoned = self.partial_start();
            self.reset_message();
            self.state = State::Resync(Vec::new());
        }
        result
    }

    /// The stream ended: completes a read-until-close body; an error if a message was cut.
    pub fn finish(&mut self) -> Result<Option<Done>, Http1Error> {
        match &self.state {
            State::Body(Framing::UntilClose) => {
                let done = self.done(false);
                self.state = State::Closed;
                Ok(Some(done))
            }
            _ if self.in_message => {
                self.reset_message();
                Err(Http1Error::UnexpectedEof)
            }
            _ => Ok(None),
        }
    }

    /// `len` bytes passed uncaptured.
    pub fn skip(&mut self, len: u64) -> SkipOutcome {
        let mut out = SkipOutcome::default();
        match &mut self.state {
            State::Body(Framing::Length(rem)) => {
                let in_body = len.min(*rem);
                *rem -= in_body;
                self.wire += in_body;
                self.body += in_body;
                out.in_body = in_body;
                out.lost = len - in_body;
                if out.lost > 0 {
                    self.resync_after = true;
                }
            }
            State::Body(Framing::Chunked(Chunk::Data(rem))) if len <= *rem => {
                *rem -= len;
                self.wire += len;
                self.body += len;
                out.in_body = len;
            }
            State::Body(Framing::UntilClose) => {
                self.wire += len;
                self.body += len;
                out.in_body = len;
            }
            State::Opaque => out.in_body = len,
            State::Resync(carry) => {
                carry.clear();
                out.lost = len;
            }
            State::Closed => out.lost = len,
            State::Head | State::NoBody | State::Body(_) => {
                out.lost = len;
                out.broke_message = self.in_message;
                out.partial_start = self.partial_start();
                self.reset_message();
                self.state = State::Resync(Vec::new());
            }
        }
        out
    }

    fn partial_start(&self) -> Option<StartLine> {
        if let Some((start, ..)) = &self.start {
            return Some(start.clone());
        }
        let line = String::from_utf8_lossy(&self.line);
        let mut parts = line.trim_end().splitn(3, ' ');
        match (self.kind, parts.next(), parts.next()) {
            (Kind::Request, Some(m), Some(t)) if head::is_known_method(m.as_bytes()) => {
                Some(StartLine::Request {
                    method: m.to_string(),
                    target: t.to_string(),
                })
            }
            (Kind::Response, Some(_), Some(code)) => {
                let status = code.get(..3)?.parse().ok()?;
                Some(StartLine::Response {
                    status,
                    reason: String::new(),
                })
            }
            _ => None,
        }
    }

    fn reset_message(&mut self) {
        self.line.clear();
        self.head_bytes = 0;
        self.start = None;
        self.headers = Vec::new();
        self.in_message = false;
        self.wire = 0;
        self.body = 0;
        self.upgrade_after = false;
        self.opaque_after = false;
        self.close_after = false;
    }

    fn done(&mut self, upgrade: bool) -> Done {
        let done = Done {
            wire_len: self.wire,
            body_len: self.body,
            upgrade,
        };
        let close = self.close_after;
        let resync = std::mem::take(&mut self.resync_after);
        self.reset_message();
        self.state = if upgrade && self.opaque_after {
            State::Opaque
        } else if resync {
            State::Resync(Vec::new())
        } else if close {
            State::Closed
        } else {
            State::Head
        };
        done
    }

    fn step<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Event<'a>>, Http1Error> {
        loop {
            match &mut self.state {
                State::NoBody => {
                    let upgrade = self.upgrade_after;
                    return Ok(Some(Event::Complete(self.done(upgrade))));
                }
                State::Opaque => {
                    *input = &[];
                    return Ok(None);
                }
                State::Closed => {
                    return match input.iter().position(|&b| b != b'\r' && b != b'\n') {
                        Some(_) => Err(Http1Error::DataAfterClose),
                        None => {
                            *input = &[];
                            Ok(None)
                        }
                    };
                }
                State::Resync(_) => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    self.resync(input);
                }
                State::Head => {
                    let Some(&first) = self.line.first().or(input.first()) else {
                        return Ok(None);
                    };
                    if !self.in_message && first != b'\r' && first != b'\n' {
                        self.in_message = true;
                        return Ok(Some(Event::Begin));
                    }
                    if input.is_empty() {
                        return Ok(None);
                    }
                    if let Some(head) = self.head_step(input)? {
                        return Ok(Some(Event::Head(head)));
                    }
                }
                State::Body(Framing::Length(rem)) => {
                    if *rem == 0 {
                        let upgrade = self.upgrade_after;
                        return Ok(Some(Event::Complete(self.done(upgrade))));
                    }
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = (*rem).min(input.len() as u64);
                    *rem -= n;
                    return Ok(Some(Event::Body(self.take_body(input, n as usize))));
                }
                State::Body(Framing::UntilClose) => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(Event::Body(self.take_body(input, input.len()))));
                }
                State::Body(Framing::Chunked(chunk)) => match chunk {
                    Chunk::Data(0) => *chunk = Chunk::DataEnd(false),
                    Chunk::Data(rem) => {
                        if input.is_empty() {
                            return Ok(None);
                        }
                        let n = (*rem).min(input.len() as u64);
                        *rem -= n;
                        return Ok(Some(Event::Body(self.take_body(input, n as usize))));
                    }
                    Chunk::DataEnd(cr_seen) => {
                        let Some((&b, rest)) = input.split_first() else {
                            return Ok(None);
                        };
                        match (b, *cr_seen) {
                            (b'\r', false) => *chunk = Chunk::DataEnd(true),
                            (b'\n', true) => *chunk = Chunk::Size,
                            _ => return Err(Http1Error::ChunkDataEnd),
                        }
                        *input = rest;
                        self.wire += 1;
                    }
                    Chunk::Size => {
                        let Some(line) = self.take_line(input, Http1Error::InvalidChunkSize)?
                        else {
                            return Ok(None);
                        };
                        let size = framing::parse_chunk_size(&line)?;
                        self.state = State::Body(Framing::Chunked(if size == 0 {
                            Chunk::Trailers
                        } else {
                            Chunk::Data(size)
                        }));
                    }
                    Chunk::Trailers => {
                        let Some(line) = self.take_line(input, Http1Error::InvalidHeaderName)?
                        else {
                            return Ok(None);
                        };
                        if line.is_empty() {
                            let upgrade = self.upgrade_after;
                            return Ok(Some(Event::Complete(self.done(upgrade))));
                        }
                        head::parse_header_line(&line)?;
                    }
                },
            }
        }
    }

    fn take_body<'a>(&mut self, input: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (body, rest) = input.split_at(n.min(input.len()));
        *input = rest;
        self.wire += body.len() as u64;
        self.body += body.len() as u64;
        body
    }

    /// Move bytes up to and including the next LF into the line buffer. Returns the
    /// line without its CRLF once complete.
    fn take_line(
        &mut self,
        input: &mut &[u8],
        partial_error: Http1Error,
    ) -> Result<Option<Vec<u8>>, Http1Error> {
        let nl = input.iter().position(|&b| b == b'\n');
        let take = nl.map_or(input.len(), |i| i + 1);
        if self.head_bytes.saturating_add(take) > self.max_head {
            return Err(Http1Error::HeadTooLarge(self.max_head));
        }
        let (chunk, rest) = input.split_at(take);
        *input = rest;
        self.head_bytes += take;
        self.wire += take as u64;
        self.line.extend_from_slice(chunk);
        if nl.is_none() {
            let bad_cr = self.line.windows(2).any(|w| w[0] == b'\r');
            return if bad_cr {
                Err(Http1Error::LineEnding)
            } else {
                Ok(None)
            };
        }
        let mut line = std::mem::take(&mut self.line);
        if !line.ends_with(b"\r\n") {
            return Err(Http1Error::LineEnding);
        }
        line.truncate(line.len() - 2);
        if line.contains(&b'\r') {
            return Err(if line.contains(&b'\n') {
                Http1Error::LineEnding
            } else {
                partial_error
            });
        }
        Ok(Some(line))
    }

    fn head_step(&mut self, input: &mut &[u8]) -> Result<Option<Head>, Http1Error> {
        let Some(line) = self.take_line(input, Http1Error::LineEnding)? else {
            if self.start.is_none() && !self.plausible_start() {
                return Err(match self.kind {
                    Kind::Request => Http1Error::InvalidMethod,
                    Kind::Response => Http1Error::InvalidProtocol,
                });
            }
            if self.start.is_some() && !plausible_header(&self.line) {
                return Err(Http1Error::InvalidHeaderName);
            }
            return Ok(None);
        };
        if self.start.is_none() {
            if line.is_empty() && !self.in_message {
                self.head_bytes = 0;
                return Ok(None);
            }
            self.start = Some(match self.kind {
                Kind::Request => head::parse_request_line(&line)?,
                Kind::Response => head::parse_status_line(&line)?,
            });
            return Ok(None);
        }
        if !line.is_empty() {
            let header = head::parse_header_line(&line)?;
            if header.name.eq_ignore_ascii_case("content-length") {
                framing::parse_length(&header.value)?;
                let is_length = |h: &Header| h.name.eq_ignore_ascii_case("content-length");
                if self.headers.iter().any(is_length) {
                    return Err(Http1Error::InvalidContentLength);
                }
            }
            self.headers.push(header);
            return Ok(None);
        }
        let Some((start, protocol, major, minor)) = self.start.take() else {
            return Ok(None);
        };
        let head = Head {
            start,
            protocol,
            major,
            minor,
            headers: std::mem::take(&mut self.headers),
            wire_len: self.wire,
        };
        let (framing, upgrade) = framing::decide(&head, self.answering)?;
        self.upgrade_after = upgrade;
        self.opaque_after =
            upgrade && (self.kind == Kind::Response || head.method() == Some("CONNECT"));
        let keep_alive_10 =
            head.major == 1 && head.minor == 0 && head.has_token("connection", "keep-alive");
        let default_close = (head.major, head.minor) < (1, 1) && !keep_alive_10;
        self.close_after =
            head.has_token("connection", "close") || (default_close && self.kind == Kind::Request);
        self.state = framing.map_or(State::NoBody, State::Body);
        Ok(Some(head))
    }

    /// Whether the partial first line could still become a valid start line.
    fn plausible_start(&self) -> bool {
        let line = self.line.as_slice();
        match self.kind {
            Kind::Request => match line.iter().position(|&b| b == b' ') {
                Some(sp) => head::is_known_method(line.get(..sp).unwrap_or_default()),
                None => head::is_method_prefix(line),
            },
            Kind::Response => {
                let n = line.len().min(5);
                let prefix = line.get(..n).unwrap_or_default();
                b"HTTP/".starts_with(prefix) || b"RTSP/".starts_with(prefix)
            }
        }
    }

    /// Discard input until something that starts a message; then return to `Head`.
    fn resync(&mut self, input: &mut &[u8]) {
        let State::Resync(carry) = &mut self.state else {
            return;
        };
        if !carry.is_empty() {
            let mut probe = carry.clone();
            probe.extend(input.iter().take(head::MAX_METHOD_LEN + 1));
            match candidate(self.kind, &probe) {
                Candidate::Yes => {
                    self.line = std::mem::take(carry);
                    self.head_bytes = self.line.len();
                    self.wire = self.line.len() as u64;
                    self.state = State::Head;
                    return;
                }
                Candidate::NeedMore => {
                    carry.extend_from_slice(input);
                    *input = &[];
                    return;
                }
                Candidate::No => {
                    self.discarded += carry.len() as u64;
                    carry.clear();
                }
            }
        }
        let mut pos = 0;
        while pos < input.len() {
            let rest = input.get(pos..).unwrap_or_default();
            match candidate(self.kind, rest) {
                Candidate::Yes => {
                    self.discarded += pos as u64;
                    *input = rest;
                    self.state = State::Head;
                    return;
                }
                Candidate::NeedMore => {
                    self.discarded += pos as u64;
                    carry.extend_from_slice(rest);
                    *input = &[];
                    return;
                }
                Candidate::No => {}
            }
            pos = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => pos + i + 1,
                None => input.len(),
            };
        }
        self.discarded += input.len() as u64;
        *input = &[];
    }
}

/// Whether a partial header line could still become valid: a token up to the colon.
fn plausible_header(line: &[u8]) -> bool {
    let name_end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
    let name = line.get(..name_end).unwrap_or_default();
    name.iter().all(|&b| head::is_tchar(b) || b == b'\r')
}

/// Whether `bytes` look like the start of a message of `kind`.
fn candidate(kind: Kind, bytes: &[u8]) -> Candidate {
    match kind {
        Kind::Response => {
            let n = bytes.len().min(7);
            let prefix = bytes.get(..n).unwrap_or_default();
            if !b"HTTP/1.".starts_with(prefix) {
                Candidate::No
            } else if n < 7 {
                Candidate::NeedMore
            } else {
                Candidate::Yes
            }
        }
        Kind::Request => match bytes
            .iter()
            .take(head::MAX_METHOD_LEN + 1)
            .position(|&b| b == b' ')
        {
            Some(sp) if head::is_known_method(bytes.get(..sp).unwrap_or_default()) => {
                Candidate::Yes
            }
            Some(_) => Candidate::No,
            None if bytes.len() <= head::MAX_METHOD_LEN && head::is_method_prefix(bytes) => {
                Candidate::NeedMore
            }
            None => Candidate::No,
        },
    }
}
