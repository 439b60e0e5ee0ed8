//! How events look on a terminal. The only module that prints events.

use std::io::Write;

use std::net::IpAddr;

use sonde_event::{
    Container, Direction, Endpoint, Event, PacketDrop, Process, ProcessExit, TcpConnection,
    UdpFlow, Workload,
};

use crate::cmd::Output;

mod alert;
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

/// ` stdio=IN,OUT,ERR` when a standard stream is a socket (a shell on a
/// connection), else nothing: the usual terminal and pipes are not news.
fn stdio_note(p: &Process) -> String {
    let Some(stdio) = p.stdio else {
        return String::new();
    };
    let streams = [stdio.stdin, stdio.stdout, stdio.stderr];
    if !streams
        .iter()
        .any(|f| f.kind == sonde_event::FileType::Socket)
    {
        return String::new();
    }
    let names: Vec<String> = streams
        .iter()
        .map(|f| match f.family {
            Some(family) => format!("{}/{}", f.kind.as_str(), family.as_str()),
            None => f.kind.as_str().to_string(),
        })
        .collect();
    format!(" stdio={}", names.join(","))
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

/// `127.0.0.1:8000 (python3 pid=7) LISTEN backlog=5` or `… CLOSED`.
fn listen_line(l: &sonde_event::ListenEvent) -> String {
    let state = match l.state {
        sonde_event::ListenState::Listen => "LISTEN",
        sonde_event::ListenState::Closed => "CLOSED",
    };
    format!(
        "{}{} tcp {state} backlog={}",
        endpoint(Some(&l.local)),
        owner(l.process.as_ref()),
        l.backlog
    )
}

/// A profile window: its size and hottest sampled function.
/// `KILL /tmp/x pid=12 rule=no-nc` or `DENY-CONNECT 10.0.0.1:443 … (dry run)`.
fn enforcement_line(e: &sonde_event::Enforcement) -> String {
    let target = match (&e.binary, &e.destination) {
        (Some(binary), _) => binary.clone(),
        (None, Some(d)) => endpoint(Some(d)),
        (None, None) => "-".into(),
    };
    let action = match e.action {
        sonde_event::EnforcementAction::Kill => "KILL",
        sonde_event::EnforcementAction::DenyConnect => "DENY-CONNECT",
        sonde_event::EnforcementAction::DenySend => "DENY-SEND",
    };
    let mut line = format!(
        "{action} {target} pid={} comm={} rule={}",
        e.pid, e.comm, e.rule
    );
    if e.dry_run {
        line.push_str(" (dry run: not enforced)");
    }
    if e.spared {
        line.push_str(" (spared: PID 1 or sonde)");
    }
    if let Some(err) = e.error {
        line.push_str(&format!(" (signal failed: {err})"));
    }
    line
}

/// `open /etc/shadow O_RDONLY = 3` or `= -ENOENT`.
fn file_line(f: &sonde_event::FileEvent) -> String {
    let mut line = format!("{} {} {}", f.process.comm, f.operation.as_str(), f.path);
    if let Some(to) = &f.new_path {
        line.push_str(&format!(" -> {to}"));
    }
    if !f.flag_names.is_empty() {
        line.push_str(&format!(" {}", f.flag_names.join("|")));
    }
    if let Some(mode) = f.mode {
        line.push_str(&format!(" mode={mode:o}"));
    }
    if f.owner_uid.is_some() || f.owner_gid.is_some() {
        let id = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        line.push_str(&format!(" owner={}:{}", id(f.owner_uid), id(f.owner_gid)));
    }
    line.push_str(&result_text(f.result, f.error.as_deref()));
    line
}

fn result_text(result: i64, error: Option<&str>) -> String {
    match error {
        Some(e) => format!(" = -{e}"),
        None => format!(" = {result}"),
    }
}

/// `setuid [65534] uid 0->65534 = 0`, `mount none /mnt tmpfs = 0`.
fn security_line(s: &sonde_event::SecurityEvent) -> String {
    use sonde_event::SecurityDetail as D;
    let detail = match &s.detail {
        D::Ids { requested } => {
            let ids: Vec<String> = requested
                .iter()
                .map(|i| i.map_or_else(|| "-1".to_string(), |i| i.to_string()))
                .collect();
            let (b, a) = (&s.credentials_before, &s.credentials_after);
            format!(
                "[{}] uid {}->{} euid {}->{} gid {}->{}",
                ids.join(","),
                b.uid,
                a.uid,
                b.euid,
                a.euid,
                b.gid,
                a.gid
            )
        }
        D::Capset { pid, effective, .. } => format!("pid={pid} effective={effective:#x}"),
        D::Ptrace {
            request,
            target_pid,
            ..
        } => format!("{request} pid={target_pid}"),
        D::Memfd { name, flags } => format!("{name} flags={flags:#x}"),
        D::ExecMemfd { name } => name.clone(),
        D::Mount {
            source,
            target,
            fstype,
            flags,
        } => format!("{source} {target} {fstype} flags={flags:#x}"),
        D::Umount { target, flags } => format!("{target} flags={flags:#x}"),
        D::Module {
            name, parameters, ..
        } => format!(
            "{} {}",
            name.as_deref().unwrap_or("-"),
            parameters.as_deref().unwrap_or("")
        ),
        D::BpfProgLoad {
            prog_type_name,
            name,
            ..
        } => format!("{prog_type_name} {name}"),
        D::Namespaces { namespaces, .. } => namespaces.join(","),
    };
    format!(
        "{} {} {}{}",
        s.process.comm,
        s.kind.as_str(),
        detail,
        result_text(s.result, s.error.as_deref())
    )
}

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
                "pid={} ppid={} uid={} {}{}",
                p.pid,
                p.ppid,
                p.uid,
                command_line(p),
                stdio_note(p)
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
        Event::Enforcement(e) => enforcement_line(e),
        Event::Listen(l) => listen_line(l),
        Event::File(f) => file_line(f),
        Event::Security(s) => security_line(s),
        Event::Alert(a) => alert::line(a),
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
    /// Alerts: priority, rule, output, process tree.
    Alerts,
}

impl Table {
    pub fn header(self) -> String {
        match self {
            Table::Events => {
                "TIME                            TYPE  PID      CONTAINER     WHAT".into()
            }
            Table::Requests => request::header(),
            Table::Alerts => alert::header(),
        }
    }

    /// Fixed-width columns, so that a followed stream lines up.
    pub fn row(self, out: &mut impl Write, event: &Event) -> std::io::Result<()> {
        match (self, event) {
            (Table::Requests, Event::Request(r)) => writeln!(out, "{}", request::row(r)),
            (Table::Alerts, Event::Alert(a)) => writeln!(out, "{}", alert::row(a)),
            _ => event_row(out, event),
        }
    }
}

fn event_row(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let subject = event.subject();
    let what = match event {
        Event::ProcessExec(e) => command_line(&e.process) + &stdio_note(&e.process),
        Event::ProcessExit(e) => format!("{} {}", e.process.binary, exit_outcome(e)),
        Event::TcpConnection(c) => tcp_line(c),
        Event::PacketDrop(d) => drop_line(d),
        Event::UdpFlow(u) => udp_line(u),
        Event::Request(r) => request::line(r),
        Event::Profile(p) => profile_line(p),
        Event::Enforcement(e) => enforcement_line(e),
        Event::Listen(l) => listen_line(l),
        Event::File(f) => file_line(f),
        Event::Security(s) => security_line(s),
        Event::Alert(a) => alert::line(a),
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

    #[test]
    fn stdio_is_shown_when_a_stream_is_a_socket() {
        let file = |mode, af| sonde_event::StdioFile::new(mode, af, 136);
        let mut p = sonde_agent::detect::sample::process(1, 0, "sh", "/bin/sh", &["sh"]);
        assert_eq!(stdio_note(&p), "");
        let (socket, tty) = (file(0o140777, 2), file(0o020620, 0));
        p.stdio = Some(sonde_event::Stdio {
            stdin: tty,
            stdout: tty,
            stderr: tty,
        });
        assert_eq!(stdio_note(&p), "");
        p.stdio = Some(sonde_event::Stdio {
            stdin: socket,
            stdout: socket,
            stderr: tty,
        });
        assert_eq!(stdio_note(&p), " stdio=socket/inet,socket/inet,tty");
    }
}
