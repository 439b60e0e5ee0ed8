//! How events look on a terminal. The only module that prints events.

use std::io::Write;

use std::net::IpAddr;

use sonde_event::{
    Container, Direction, Endpoint, Event, PacketDrop, Process, ProcessExit, TcpConnection,
    UdpFlow, Workload,
};

use crate::cmd::Output;

pub mod query;
mod request;

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

fn container_id(c: Option<&Container>) -> String {
    c.map_or_else(String::new, |c| c.id.chars().take(12).collect())
}

fn exit_outcome(e: &ProcessExit) -> String {
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

fn humantime_short(ns: u64) -> String {
    match ns {
        n if n < 1_000_000 => format!("{}µs", n / 1_000),
        n if n < 1_000_000_000 => format!("{:.1}ms", n as f64 / 1e6),
        n => format!("{:.2}s", n as f64 / 1e9),
    }
}

fn endpoint(e: Option<&Endpoint>) -> String {
    match e {
        Some(Endpoint {
            ip: IpAddr::V6(ip),
            port,
        }) => format!("[{ip}]:{port}"),
        Some(Endpoint { ip, port }) => format!("{ip}:{port}"),
        None => "?".into(),
    }
}

fn owner(w: Option<&Workload>) -> String {
    w.map_or_else(String::new, |w| format!(" ({} pid={})", w.comm, w.pid))
}

fn tcp_line(c: &TcpConnection) -> String {
    let (client, server) = c.client_server();
    let (client_owner, server_owner) = match c.direction {
        Direction::Accept => (String::new(), owner(c.process.as_ref())),
        Direction::Connect | Direction::Unknown => (owner(c.process.as_ref()), String::new()),
    };
    let end = serde_json::to_value(c.end)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut line = format!(
        "{}{client_owner} -> {}{server_owner} {} sent={} received={} rtt={:.2}ms retrans={} {end}",
        endpoint(Some(&client)),
        endpoint(Some(&server)),
        match c.direction {
            Direction::Connect => "connect",
            Direction::Accept => "accept",
            Direction::Unknown => "existing",
        },
        c.bytes_sent,
        c.bytes_received,
        f64::from(c.srtt_us) / 1000.0,
        c.retransmits,
    );
    if let Some(d) = c.duration_ns {
        line.push_str(&format!(" after {}", humantime_short(d)));
    }
    line
}

fn drop_line(d: &PacketDrop) -> String {
    let mut line = format!(
        "{}{} -> {} {} DROPPED {}",
        endpoint(d.source.as_ref()),
        owner(d.process.as_ref()),
        endpoint(d.destination.as_ref()),
        d.protocol,
        d.reason
    );
    if let Some(i) = &d.interface {
        line.push_str(&format!(
            " on {}",
            i.name
                .clone()
                .unwrap_or_else(|| format!("ifindex {}", i.index))
        ));
    }
    if let Some(at) = &d.location {
        line.push_str(&format!(" at {at}"));
    }
    line
}

fn udp_line(u: &UdpFlow) -> String {
    format!(
        "{}{} <-> {} sent={}B/{}p received={}B/{}p",
        endpoint(Some(&u.local)),
        owner(u.process.as_ref()),
        endpoint(Some(&u.remote)),
        u.bytes_sent,
        u.packets_sent,
        u.bytes_received,
        u.packets_received
    )
}

/// A profile window: its size and hottest sampled function.
fn profile_line(p: &sonde_event::Profile) -> String {
    let hottest = p
        .stacks
        .iter()
        .max_by_key(|s| s.samples)
        .and_then(|s| s.frames.last())
        .and_then(|&i| p.frames.get(i as usize))
        .map_or_else(|| "-".to_string(), sonde_event::Frame::name);
    format!(
        "{} samples={} stacks={} hz={} over {}s, hottest {}",
        p.process.comm,
        p.stats.samples,
        p.stacks.len(),
        p.hz,
        p.duration_ns / 1_000_000_000,
        hottest
    )
}

/// What happened, without time and type.
fn describe(event: &Event) -> String {
    match event {
        Event::ProcessExec(e) => {
            let p = &e.process;
            format!(
                "pid={} ppid={} uid={} {}",
                p.pid,
                p.ppid,
                p.uid,
                command_line(p)
            )
        }
        Event::ProcessExit(e) => {
            let p = &e.process;
            format!(
                "pid={} ppid={} uid={} {} {}",
                p.pid,
                p.ppid,
                p.uid,
                command_line(p),
                exit_outcome(e)
            )
        }
        Event::TcpConnection(c) => tcp_line(c),
        Event::PacketDrop(d) => drop_line(d),
        Event::UdpFlow(u) => udp_line(u),
        Event::Request(r) => request::line(r),
        Event::Profile(p) => profile_line(p),
    }
}

/// One event in `output`, with `table` for `-o table` (its header apart).
pub fn event(
    out: &mut impl Write,
    event: &Event,
    output: Output,
    table: Table,
) -> std::io::Result<()> {
    match output {
        Output::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(event).expect("events always serialize")
        ),
        Output::Compact => compact(out, event),
        Output::Table => table.row(out, event),
    }
}

/// One line per event: time, kind, what happened, container.
pub fn compact(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let mut line = format!(
        "{} {:4} {}",
        event.time(),
        event.kind().short(),
        describe(event)
    );
    let c = container_id(event.subject().and_then(|s| s.container));
    if !c.is_empty() {
        line.push_str(&format!(" container={c}"));
    }
    writeln!(out, "{line}")
}

/// Which table `-o table` prints.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    /// Every kind of event: time, type, pid, container, what happened.
    Events,
    /// Requests, one column per field.
    Requests,
}

impl Table {
    pub fn header(self) -> String {
        match self {
            Table::Events => {
                "TIME                            TYPE  PID      CONTAINER     WHAT".into()
            }
            Table::Requests => request::header(),
        }
    }

    /// Fixed-width columns, so that a followed stream lines up.
    pub fn row(self, out: &mut impl Write, event: &Event) -> std::io::Result<()> {
        match (self, event) {
            (Table::Requests, Event::Request(r)) => writeln!(out, "{}", request::row(r)),
            _ => event_row(out, event),
        }
    }
}

fn event_row(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let subject = event.subject();
    let what = match event {
        Event::ProcessExec(e) => command_line(&e.process),
        Event::ProcessExit(e) => format!("{} {}", e.process.binary, exit_outcome(e)),
        Event::TcpConnection(c) => tcp_line(c),
        Event::PacketDrop(d) => drop_line(d),
        Event::UdpFlow(u) => udp_line(u),
        Event::Request(r) => request::line(r),
        Event::Profile(p) => profile_line(p),
    };
    writeln!(
        out,
        "{:31} {:5} {:<8} {:13} {}",
        event.time().to_string(),
        event.kind().short(),
        subject.map_or_else(|| "-".to_string(), |s| s.pid.to_string()),
        container_id(subject.and_then(|s| s.container)),
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
