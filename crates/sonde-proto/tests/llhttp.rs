//! Runs llhttp's markdown test suite (request/ and response/) against `http1::Parser`.
//!
//! Each section holds an ```http block (the raw message, with llhttp's escaping) and
//! a ```log block of expected callbacks. We compare what matters to a tracer: method,
//! URL, protocol/version, status, header fields and values, body length, number of
//! messages, upgrade, and whether the input is rejected. Offsets are not compared.

use std::path::{Path, PathBuf};

use sonde_proto::http1::{Event, Kind, Parser};

/// Floor of passing cases; raise it when the parser improves.
const FLOOR: usize = 209;

#[derive(Debug, Default, Clone, PartialEq)]
struct Message {
    method: String,
    url: String,
    protocol: String,
    version: String,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body_len: u64,
    complete: bool,
    upgrade: bool,
}

#[derive(Debug, Default, PartialEq)]
struct Outcome {
    messages: Vec<Message>,
    error: bool,
    upgrade_pause: bool,
    finish_error: Option<bool>,
}

struct Case {
    name: String,
    kind: String,
    meta: String,
    input: Vec<u8>,
    log: Vec<String>,
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/http1/llhttp/test")
}

/// llhttp's md-test input normalisation.
fn unescape_input(block: &str) -> Vec<u8> {
    let mut s = block.to_string();
    for esc in ["\\\r\n", "\\\r", "\\\n"] {
        s = s.replace(esc, "");
    }
    let s = s
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    let s = s
        .replace("\\r", "\r")
        .replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\f", "\x0c");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex: Vec<u8> = b[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .copied()
                .collect();
            if !hex.is_empty() {
                let v = u32::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap();
                out.push(v as u8);
                i += 2 + hex.len();
                continue;
            }
        }
        if b[i] == b'\\' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let dec: Vec<u8> = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .copied()
                .collect();
            let v: u32 = std::str::from_utf8(&dec).unwrap().parse().unwrap();
            out.push(v as u8);
            i += 1 + dec.len();
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut name = String::new();
    let mut meta = String::new();
    let mut lines = text.lines();
    let mut pending_input: Option<Vec<u8>> = None;
    while let Some(line) = lines.next() {
        if line.starts_with('#') {
            name = line.trim_start_matches('#').trim().to_string();
        } else if line.starts_with("<!-- meta=") {
            meta = line.to_string();
        } else if line.trim() == "```http" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            pending_input = Some(unescape_input(&body.join("\n")));
        } else if line.trim() == "```log" {
            let log: Vec<String> = lines
                .by_ref()
                .take_while(|l| l.trim() != "```")
                .map(str::to_string)
                .collect();
            if let Some(input) = pending_input.take() {
                let kind = meta
                    .split("\"type\":")
                    .nth(1)
                    .and_then(|r| r.split('"').nth(1))
                    .unwrap_or("")
                    .to_string();
                cases.push(Case {
                    name: name.clone(),
                    kind,
                    meta: meta.clone(),
                    input,
                    log,
                });
            }
        }
    }
    cases
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ').find_map(|w| w.strip_prefix(key))
}

fn span_value(line: &str) -> String {
    let start = line.find("=\"").map_or(line.len(), |i| i + 2);
    let v = line.get(start..line.len().saturating_sub(1)).unwrap_or("");
    v.replace("\\t", "\t")
        .replace("\\f", "\x0c")
        .replace("\\r", "\r")
        .replace("\\n", "\n")
}

fn expected(log: &[String]) -> Outcome {
    let mut out = Outcome::default();
    let mut cur: Option<Message> = None;
    for line in log {
        let rest = line.split_once(' ').map_or("", |(_, r)| r);
        if rest == "message begin" {
            cur = Some(Message::default());
            continue;
        }
        if let Some(r) = rest.strip_prefix("error ") {
            if r.contains("Pause on CONNECT/Upgrade") {
                out.upgrade_pause = true;
                if let Some(m) = out.messages.last_mut() {
                    m.upgrade = true;
                }
            } else {
                out.error = true;
            }
            continue;
        }
        if let Some(f) = field(rest, "finish=") {
            out.finish_error = Some(f != "0");
            continue;
        }
        let Some(m) = cur.as_mut() else { continue };
        if rest.contains("span[") {
            let v = span_value(rest);
            let len: u64 = field(rest, "len=")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            match rest.split("span[").nth(1).and_then(|r| r.split(']').next()) {
                Some("method") => m.method.push_str(&v),
                Some("url") => m.url.push_str(&v),
                Some("protocol") => m.protocol.push_str(&v),
                Some("version") => m.version.push_str(&v),
                Some("header_field") => match m.headers.last_mut() {
                    Some((f, val)) if val == "\u{0}" => f.push_str(&v),
                    _ => m.headers.push((v, "\u{0}".into())),
                },
                Some("header_value") => {
                    if let Some((_, val)) = m.headers.last_mut() {
                        if val == "\u{0}" {
                            val.clear();
                        }
                        val.push_str(&v);
                    }
                }
                Some("body") => m.body_len += len,
                _ => {}
            }
        } else if rest == "header_value complete" {
            if let Some((_, val)) = m.headers.last_mut() {
                if val == "\u{0}" {
                    val.clear();
                }
                *val = val.trim_matches([' ', '\t']).to_string();
            }
        } else if rest.starts_with("headers complete") {
            m.status = field(rest, "status=").and_then(|s| s.parse().ok());
            m.complete = false;
            out.messages.push(m.clone());
        } else if rest == "message complete" {
            if let Some(last) = out.messages.last_mut() {
                last.complete = true;
                last.body_len = m.body_len;
            }
            cur = None;
        }
    }
    // A message cut short still reports the body it got.
    if let (Some(m), Some(last)) = (cur, out.messages.last_mut()) {
        if !last.complete {
            last.body_len = m.body_len;
        }
    }
    out
}

fn actual(case: &Case, kind: Kind, skip_body: bool) -> Outcome {
    let mut parser = Parser::new(kind, 80 * 1024);
    if skip_body {
        parser.set_answering(Some("HEAD"));
    }
    let mut out = Outcome::default();
    let mut input = case.input.as_slice();
    loop {
        match parser.advance(&mut input) {
            Ok(None) => break,
            Ok(Some(Event::Begin)) => {}
            Ok(Some(Event::Head(h))) => {
                let (method, url) = match &h.start {
                    sonde_proto::http1::StartLine::Request { method, target } => {
                        (method.clone(), target.clone())
                    }
                    sonde_proto::http1::StartLine::Response { .. } => {
                        (String::new(), String::new())
                    }
                };
                out.messages.push(Message {
                    method,
                    url,
                    protocol: h.protocol.clone(),
                    version: format!("{}.{}", h.major, h.minor),
                    status: h.status(),
                    headers: h
                        .headers
                        .iter()
                        .map(|x| (x.name.clone(), x.value.clone()))
                        .collect(),
                    ..Message::default()
                });
            }
            Ok(Some(Event::Body(b))) => {
                if let Some(m) = out.messages.last_mut() {
                    m.body_len += b.len() as u64;
                }
            }
            Ok(Some(Event::Complete(done))) => {
                if let Some(m) = out.messages.last_mut() {
                    m.complete = true;
                    m.upgrade = done.upgrade;
                }
                if done.upgrade {
                    out.upgrade_pause = true;
                    break;
                }
            }
            Err(_) => {
                out.error = true;
                break;
            }
        }
    }
    if case.kind.ends_with("-finish") && !out.error {
        out.finish_error = Some(parser.finish().is_err());
    }
    out
}

/// Compare; on an expected error only the verdict and completed messages count.
fn matches(exp: &Outcome, act: &Outcome) -> bool {
    if exp.error || act.error {
        let done = |o: &Outcome| {
            o.messages
                .iter()
                .filter(|m| m.complete)
                .cloned()
                .collect::<Vec<_>>()
        };
        return exp.error == act.error && done(exp) == done(act);
    }
    exp == act
}

fn skip_reason(case: &Case) -> Option<&'static str> {
    if case.kind.contains("lenient") {
        Some("needs an llhttp lenient flag")
    } else if case.meta.contains("skipBody") && case.kind == "request" {
        Some("needs on_headers_complete to skip a request body")
    } else {
        None
    }
}

#[test]
fn llhttp_suite() {
    let dir = suite_dir();
    if !dir.is_dir() {
        println!(
            "SKIP llhttp suite: {} not found (shared testdata absent)",
            dir.display()
        );
        return;
    }
    let verbose = std::env::var_os("LLHTTP_VERBOSE").is_some();
    let (mut passed, mut total) = (0, 0);
    let mut skipped: std::collections::BTreeMap<&str, usize> = Default::default();
    for side in ["request", "response"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(side))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let (mut fp, mut ft) = (0, 0);
            for case in parse_cases(&text) {
                if let Some(reason) = skip_reason(&case) {
                    *skipped.entry(reason).or_default() += 1;
                    continue;
                }
                let kind = if case.kind.starts_with("response") {
                    Kind::Response
                } else {
                    Kind::Request
                };
                let exp = expected(&case.log);
                let act = actual(&case, kind, case.meta.contains("skipBody"));
                ft += 1;
                if matches(&exp, &act) {
                    fp += 1;
                } else if verbose {
                    println!(
                        "FAIL {}: {}\n  input {:?}\n  expected {exp:?}\n  actual   {act:?}",
                        file.display(),
                        case.name,
                        String::from_utf8_lossy(&case.input)
                    );
                }
            }
            println!(
                "{side}/{}: {fp}/{ft}",
                file.file_name().unwrap().to_string_lossy()
            );
            passed += fp;
            total += ft;
        }
    }
    for (reason, n) in &skipped {
        println!("skipped {n}: {reason}");
    }
    println!("llhttp overall: {passed}/{total}");
    assert!(total > 0, "no llhttp cases found");
    assert!(
        passed >= FLOOR,
        "llhttp score {passed} fell below floor {FLOOR}"
    );
}
