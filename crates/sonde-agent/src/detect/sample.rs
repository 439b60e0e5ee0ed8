//! Hand-made events for the detection tests and the throughput benchmark.

use std::net::{IpAddr, Ipv4Addr};

use sonde_event::{
    Ancestor, Cgroup, Direction, Endpoint, Event, FileEvent, FileOperation, Namespaces, Origin,
    Process, ProcessExec, TcpConnection, TcpEnd, Timestamp, Workload,
};

/// A process image `exec_id` = `e<pid>`.
pub fn process(pid: u32, ppid: u32, comm: &str, binary: &str, argv: &[&str]) -> Process {
    Process {
        exec_id: format!("e{pid}"),
        parent_exec_id: Some(format!("e{ppid}")),
        pid,
        tid: pid,
        ppid,
        uid: 0,
        gid: 0,
        euid: 0,
        egid: 0,
        comm: comm.into(),
        binary: binary.into(),
        argv: argv.iter().map(|a| a.to_string()).collect(),
        argv_truncated: false,
        cwd: "/root".into(),
        start_time: Timestamp(1),
        cgroup: Cgroup {
            id: 1,
            path: "/user.slice".into(),
        },
        container: None,
        namespaces: Namespaces {
            pid: 1,
            mnt: 1,
            net: 1,
        },
        tty: None,
        origin: Origin::Exec,
        stdio: None,
    }
}

pub fn ancestor(pid: u32, binary: &str) -> Ancestor {
    Ancestor {
        exec_id: format!("e{pid}"),
        pid,
        binary: binary.into(),
    }
}

pub fn exec(time_ns: u64, process: Process, ancestors: Vec<Ancestor>) -> Event {
    Event::ProcessExec(ProcessExec {
        time: Timestamp(time_ns),
        process,
        ancestors,
    })
}

pub fn workload(p: &Process) -> Workload {
    Workload {
        exec_id: p.exec_id.clone(),
        pid: p.pid,
        comm: p.comm.clone(),
        binary: p.binary.clone(),
        container: p.container.clone(),
    }
}

/// A closed outbound connection from `p` to 192.0.2.10:`port`.
pub fn connect(time_ns: u64, p: &Process, port: u16) -> Event {
    Event::TcpConnection(TcpConnection {
        time: Timestamp(time_ns),
        direction: Direction::Connect,
        local: Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            port: 40000,
        },
        remote: Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            port,
        },
        process: Some(workload(p)),
        start_time: Some(Timestamp(time_ns)),
        duration_ns: Some(1),
        bytes_sent: 10,
        bytes_received: 10,
        segments_sent: 1,
        segments_received: 1,
        srtt_us: 1,
        retransmits: 0,
        resets_sent: 0,
        resets_received: 0,
        end: TcpEnd::Closed,
        state: "CLOSE".into(),
        netns: 1,
    })
}

/// A file operation by `p` on `path`; `flags` as the syscall got them.
pub fn file(
    time_ns: u64,
    p: &Process,
    ancestors: Vec<Ancestor>,
    operation: FileOperation,
    path: &str,
    flags: u32,
) -> Event {
    let flag_names = match operation {
        FileOperation::Open => sonde_event::open_flag_names(flags),
        op => sonde_event::at_flag_names(op, flags),
    };
    Event::File(Box::new(FileEvent {
        time: Timestamp(time_ns),
        process: p.clone(),
        ancestors,
        operation,
        path: path.into(),
        new_path: None,
        flags,
        flag_names,
        mode: None,
        owner_uid: None,
        owner_gid: None,
        result: 3,
        error: None,
        uid: p.uid,
        euid: p.euid,
        relative: false,
        truncated: false,
    }))
}

/// `p` listening on (or, `closed`, no longer on) `ip`:`port`.
pub fn listen(time_ns: u64, p: &Process, ip: &str, port: u16, closed: bool) -> Event {
    Event::Listen(sonde_event::ListenEvent {
        time: Timestamp(time_ns),
        state: if closed {
            sonde_event::ListenState::Closed
        } else {
            sonde_event::ListenState::Listen
        },
        local: Endpoint {
            ip: ip.parse().unwrap(),
            port,
        },
        family: if ip.contains(':') {
            sonde_event::IpFamily::Ipv6
        } else {
            sonde_event::IpFamily::Ipv4
        },
        process: Some(workload(p)),
        backlog: 128,
        netns: 1,
    })
}
