//! Hand-built profiles the unit tests share: two processes, 100 samples.
//!
//! `server` (pid 100, in a container), sampled at 99 Hz from t = 1 s for 1 s:
//! - 40 (thread `server`) + 10 (thread `worker`): `main;handle;parse`, where
//!   `parse` is inlined into `handle`;
//! - 25 (thread `worker`): `main;handle;[unknown] libc.so.6+0x2a0;do_syscall_64;tcp_sendmsg`,
//!   the last two in the kernel;
//! - 5 (thread `server`): `main;a;b\nc` (a name with a semicolon and a newline);
//! - 0 (thread `server`): `main`, never sampled.
//!
//! `batch` (pid 200, no container), 99 Hz from t = 1.5 s for 1 s:
//! - 20 (thread `batch`): `main;crunch`.

use sonde_event::{
    Container, ContainerRuntime, Frame, FrameKind, Profile, ProfileStats, StackCount, Timestamp,
    Workload,
};

pub(crate) const CONTAINER_ID: &str =
    "4f1c2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";

pub(crate) fn user(function: Option<&str>, module: &str, offset: u64, line: u32) -> Frame {
    Frame {
        function: function.map(str::to_string),
        module: module.to_string(),
        offset,
        file: function.map(|_| "src/main.c".to_string()),
        line: function.map(|_| line),
        kind: FrameKind::User,
        inlined: false,
    }
}

pub(crate) fn inlined(function: &str, module: &str, offset: u64, line: u32) -> Frame {
    Frame {
        inlined: true,
        ..user(Some(function), module, offset, line)
    }
}

pub(crate) fn kernel(function: &str, address: u64) -> Frame {
    Frame {
        function: Some(function.to_string()),
        module: "[kernel]".to_string(),
        offset: address,
        file: None,
        line: None,
        kind: FrameKind::Kernel,
        inlined: false,
    }
}

pub(crate) fn stack(frames: &[u32], thread: &str, samples: u64) -> StackCount {
    StackCount {
        frames: frames.to_vec(),
        thread: thread.to_string(),
        samples,
    }
}

pub(crate) fn workload(pid: u32, comm: &str, container: Option<&str>) -> Workload {
    Workload {
        exec_id: format!("exec-{pid}"),
        pid,
        comm: comm.to_string(),
        binary: format!("/opt/app/{comm}"),
        container: container.map(|id| Container {
            id: id.to_string(),
            runtime: ContainerRuntime::Docker,
            pod_uid: None,
        }),
    }
}

pub(crate) fn two_processes() -> Vec<Profile> {
    let server = "/opt/app/server";
    let server_profile = Profile {
        time: Timestamp(1_000_000_000),
        duration_ns: 1_000_000_000,
        hz: 99,
        process: workload(100, "server", Some(CONTAINER_ID)),
        frames: vec![
            user(Some("main"), server, 0x1000, 10),
            user(Some("handle"), server, 0x1100, 20),
            inlined("parse", server, 0x1100, 42),
            user(None, "/usr/lib/libc.so.6", 0x2a0, 0),
            kernel("do_syscall_64", 0xffff_ffff_8100_0000),
            kernel("tcp_sendmsg", 0xffff_ffff_8120_0000),
            user(Some("a;b\nc"), server, 0x1200, 30),
        ],
        stacks: vec![
            stack(&[0, 1, 2], "server", 40),
            stack(&[0, 1, 2], "worker", 10),
            stack(&[0, 1, 3, 4, 5], "worker", 25),
            stack(&[0, 6], "server", 5),
            stack(&[0], "server", 0),
        ],
        stats: ProfileStats {
            samples: 80,
            unknown_frames: 25,
            ..ProfileStats::default()
        },
    };
    let batch = "/opt/app/batch";
    let batch_profile = Profile {
        time: Timestamp(1_500_000_000),
        duration_ns: 1_000_000_000,
        hz: 99,
        process: workload(200, "batch", None),
        frames: vec![
            user(Some("main"), batch, 0x500, 5),
            user(Some("crunch"), batch, 0x600, 6),
        ],
        stacks: vec![stack(&[0, 1], "batch", 20)],
        stats: ProfileStats {
            samples: 20,
            ..ProfileStats::default()
        },
    };
    vec![server_profile, batch_profile]
}
