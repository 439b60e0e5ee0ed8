//! Realistic events and small helpers shared by the tests.

use std::path::Path;

use sonde_event::{
    Ancestor, Cgroup, Container, ContainerRuntime, Event, ExitStatus, Namespaces, Origin, Process,
    ProcessExec, ProcessExit, Timestamp,
};
use sonde_store::{EventStore, Query, RedbStore};

/// A plausible wall-clock time (2023-11-14), in ns.
pub const T0: u64 = 1_700_000_000_000_000_000;

pub const SECOND: u64 = 1_000_000_000;

/// A 64-hex-digit docker container id.
pub const CONTAINER_ID: &str = "3f4c0e1d2b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

const BOOT_ID: &str = "8d1c5a4e-2f7b-4b0c-9e6a-3d2f1c0b9a87";

/// An id in the agent's own format.
pub fn exec_id(pid: u32) -> String {
    sonde_event::ExecIds::new(BOOT_ID).id(1_000_000_000 + u64::from(pid) * 1_000, pid)
}

/// A process image of `binary` run as `argv` by an interactive user.
pub fn process(pid: u32, binary: &str, argv: &[&str]) -> Process {
    let name = binary.rsplit('/').next().unwrap_or(binary);
    Process {
        exec_id: exec_id(pid),
        parent_exec_id: Some(exec_id(pid.saturating_sub(1))),
        pid,
        tid: pid,
        ppid: pid.saturating_sub(1),
        uid: 1000,
        gid: 1000,
        euid: 1000,
        egid: 1000,
        comm: name.chars().take(15).collect(),
        binary: binary.to_string(),
        argv: argv.iter().map(|arg| arg.to_string()).collect(),
        argv_truncated: false,
        cwd: "/home/dev/src".to_string(),
        start_time: Timestamp(T0),
        cgroup: Cgroup {
            id: 4242,
            path: "/user.slice/user-1000.slice/session-3.scope".into(),
        },
        container: None,
        namespaces: Namespaces {
            pid: 4026531836,
            mnt: 4026531841,
            net: 4026531840,
        },
        tty: Some("pts/0".to_string()),
        origin: Origin::Exec,
        stdio: None,
    }
}

/// `process` moved into the docker container `id`.
pub fn in_container(mut process: Process, id: &str) -> Process {
    process.cgroup.path = format!("/system.slice/docker-{id}.scope");
    process.container = Some(Container {
        id: id.to_string(),
        runtime: ContainerRuntime::Docker,
        pod_uid: None,
    });
    process.tty = None;
    process
}

pub fn exec_of(time_ns: u64, process: Process) -> Event {
    Event::ProcessExec(ProcessExec {
        time: Timestamp(time_ns),
        process,
        ancestors: vec![],
    })
}

pub fn exit_of(time_ns: u64, process: Process, code: u8) -> Event {
    Event::ProcessExit(ProcessExit {
        time: Timestamp(time_ns),
        duration_ns: time_ns - process.start_time.as_nanos(),
        process,
        status: ExitStatus {
            code: Some(code),
            signal: None,
            core_dumped: false,
        },
    })
}

/// An exec of `ls -la` by `pid` at `time_ns`.
pub fn exec(time_ns: u64, pid: u32) -> Event {
    exec_of(time_ns, process(pid, "/usr/bin/ls", &["ls", "-la"]))
}

/// What the agent typically records: `bash -c` with five arguments, three
/// ancestors up to the container shim, inside a docker container.
pub fn realistic_exec(time_ns: u64, pid: u32) -> Event {
    let argv = [
        "bash",
        "-c",
        "tar czf /backup/app-$(date +%F).tgz \"$1\" && echo done",
        "bash",
        "/var/lib/app/data",
    ];
    let mut process = in_container(process(pid, "/usr/bin/bash", &argv), CONTAINER_ID);
    process.cwd = "/var/lib/app".to_string();
    process.uid = 0;
    process.euid = 0;
    let ancestors = vec![
        ancestor(pid - 1, "/usr/local/bin/python3.12"),
        ancestor(pid - 2, "/usr/bin/dash"),
        ancestor(pid - 3, "/usr/bin/containerd-shim-runc-v2"),
    ];
    Event::ProcessExec(ProcessExec {
        time: Timestamp(time_ns),
        process,
        ancestors,
    })
}

fn ancestor(pid: u32, binary: &str) -> Ancestor {
    Ancestor {
        exec_id: exec_id(pid),
        pid,
        binary: binary.to_string(),
    }
}

pub fn open(dir: &Path) -> RedbStore {
    RedbStore::open(dir).expect("open the store")
}

/// Every stored event, oldest first.
pub fn all(store: &dyn EventStore) -> Vec<Event> {
    let result = store.query(&Query::default()).expect("query");
    assert_eq!(result.skipped_corrupt, 0);
    result.events
}

/// Times of `events`, as offsets from [`T0`].
pub fn offsets(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .map(|event| event.time().as_nanos() - T0)
        .collect()
}

pub fn pids(events: &[Event]) -> Vec<u32> {
    events.iter().filter_map(|event| event.pid()).collect()
}
