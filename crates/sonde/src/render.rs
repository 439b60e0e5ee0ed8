//! How events look on a terminal. The only module that prints events.

use std::io::Write;

use sonde_event::{Event, Process};

/// Shell-like quoting of argv for display.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

fn command_line(p: &Process) -> String {
    let mut args: Vec<String> = p.argv.iter().skip(1).map(|a| quote(a)).collect();
    if p.argv_truncated {
        args.push("…(truncated)".into());
    }
    let mut line = p.binary.clone();
    for a in args {
        line.push(' ');
        line.push_str(&a);
    }
    line
}

fn container(p: &Process) -> String {
    p.container
        .as_ref()
        .map_or_else(String::new, |c| c.id.chars().take(12).collect())
}

fn outcome(event: &Event) -> String {
    match event {
        Event::ProcessExec(_) => String::new(),
        Event::ProcessExit(e) => {
            let how = match (&e.status.code, &e.status.signal) {
                (Some(code), _) => format!("code={code}"),
                (None, Some(signal)) => format!(
                    "signal={signal}{}",
                    if e.status.core_dumped { " (core)" } else { "" }
                ),
                (None, None) => "?".into(),
            };
            format!("{how} after {}", humantime_short(e.duration_ns))
        }
    }
}

fn humantime_short(ns: u64) -> String {
    match ns {
        n if n < 1_000_000 => format!("{}µs", n / 1_000),
        n if n < 1_000_000_000 => format!("{:.1}ms", n as f64 / 1e6),
        n => format!("{:.2}s", n as f64 / 1e9),
    }
}

fn short_kind(event: &Event) -> &'static str {
    match event {
        Event::ProcessExec(_) => "exec",
        Event::ProcessExit(_) => "exit",
    }
}

/// One line per event: time, kind, identity, what happened.
pub fn compact(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let p = event.process();
    let mut line = format!(
        "{} {:4} pid={} ppid={} uid={} {}",
        event.time(),
        short_kind(event),
        p.pid,
        p.ppid,
        p.uid,
        command_line(p)
    );
    let outcome = outcome(event);
    if !outcome.is_empty() {
        line.push_str(&format!(" {outcome}"));
    }
    let c = container(p);
    if !c.is_empty() {
        line.push_str(&format!(" container={c}"));
    }
    writeln!(out, "{line}")
}

pub const TABLE_HEADER: &str = "TIME                            TYPE  PID      PPID     UID    CONTAINER     COMMAND / OUTCOME";

/// Fixed-width columns, so that a followed stream lines up.
pub fn table_row(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let p = event.process();
    let what = match event {
        Event::ProcessExec(_) => command_line(p),
        Event::ProcessExit(_) => format!("{} {}", p.binary, outcome(event)),
    };
    writeln!(
        out,
        "{:31} {:5} {:<8} {:<8} {:<6} {:13} {}",
        event.time().to_string(),
        short_kind(event),
        p.pid,
        p.ppid,
        p.uid,
        container(p),
        what
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("exit 7"), "'exit 7'");
        assert_eq!(quote("-c"), "-c");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
