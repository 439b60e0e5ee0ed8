//! Loads the real programs into the running kernel. Needs root; skips with a
//! printed reason otherwise.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libbpf_rs::RingBufferBuilder;
use sonde_bpf::decode::{decode, Record};
use sonde_bpf::{preflight, probe_kernel, ProcessProgram};

fn kernel_ready() -> bool {
    match preflight() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("SKIP: {e}");
            false
        }
    }
}

/// Owned copy of a record, to keep past the ring buffer callback.
#[derive(Debug, Clone)]
enum Seen {
    Exec {
        pid: u32,
        filename: Vec<u8>,
        args: Vec<u8>,
        flags: u32,
    },
    Exit {
        pid: u32,
        code: u32,
    },
    Fork {
        pid: u32,
        ppid: u32,
    },
}

#[test]
fn exec_and_exit_records_arrive_with_exact_contents() {
    if !kernel_ready() {
        return;
    }
    let program = ProcessProgram::load(1 << 22).expect("load process programs");
    let ring = program.events().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&ring, move |bytes| {
            let seen = match decode(bytes).expect("kernel record decodes") {
                Record::Exec(r) => Seen::Exec {
                    pid: r.event.task.pid,
                    filename: r.filename.to_vec(),
                    args: r.args.to_vec(),
                    flags: r.event.flags,
                },
                Record::Exit(e) => Seen::Exit {
                    pid: e.task.pid,
                    code: e.exit_code,
                },
                Record::Fork(f) => Seen::Fork {
                    pid: f.task.pid,
                    ppid: f.task.ppid,
                },
                Record::Tcp(_) | Record::Drop(_) | Record::Data(_) => {
                    unreachable!("not from the process programs")
                }
            };
            sink.lock().unwrap().push(seen);
            0
        })
        .unwrap();
    let rb = builder.build().unwrap();

    let status = Command::new("/bin/sh")
        .args(["-c", "exit 7"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(7));
    let me = std::process::id();

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut child = None;
    while Instant::now() < deadline {
        // The kernel wakes readers only for a backlog: drain on a timer too.
        rb.poll(sonde_bpf::DRAIN_EVERY).unwrap();
        rb.consume().unwrap();
        let seen = seen.lock().unwrap();
        child = seen.iter().find_map(|s| match s {
            Seen::Fork { pid, ppid } if *ppid == me => Some(*pid),
            _ => None,
        });
        if let Some(pid) = child {
            if seen
                .iter()
                .any(|s| matches!(s, Seen::Exit { pid: p, .. } if *p == pid))
            {
                break;
            }
        }
    }
    let child = child.expect("fork record of our child");
    let seen = seen.lock().unwrap();
    let exec = seen
        .iter()
        .find_map(|s| match s {
            Seen::Exec {
                pid,
                filename,
                args,
                flags,
            } if *pid == child => Some((filename, args, *flags)),
            _ => None,
        })
        .expect("exec record of our child");
    assert_eq!(exec.0, b"/bin/sh");
    assert_eq!(exec.1, b"/bin/sh\0-c\0exit 7\0");
    assert_eq!(exec.2, 0, "no truncation flags");
    let code = seen
        .iter()
        .find_map(|s| match s {
            Seen::Exit { pid, code } if *pid == child => Some(*code),
            _ => None,
        })
        .unwrap();
    assert_eq!(code, 7 << 8, "wait status of exit(7)");
    let lost = program.lost_counter().unwrap().read().unwrap();
    assert!(
        lost.iter().all(|n| *n == 0),
        "nothing lost in a 4 MiB ring: {lost:?}"
    );
}

#[test]
fn probe_finds_the_hooks_the_process_collector_needs() {
    if !kernel_ready() {
        return;
    }
    let report = probe_kernel();
    for cap in &report.program_types {
        eprintln!("{:16} {:5} {}", cap.name, cap.available, cap.detail);
    }
    assert!(report.btf.available);
    assert!(report.ring_buffer.available);
    assert!(report.tracefs.is_available());
    for needed in ["tracepoint", "raw_tracepoint"] {
        assert!(
            report.has(needed),
            "{needed}: {:?}",
            report.capability(needed)
        );
    }
    // Load-only probes are trivial programs every BPF kernel accepts.
    for load_only in ["tc", "xdp", "cgroup_skb", "sock_ops"] {
        assert!(
            report.has(load_only),
            "{load_only}: {:?}",
            report.capability(load_only)
        );
    }
}

#[test]
fn drop_reasons_are_named_from_the_running_kernel() {
    if !kernel_ready() {
        return;
    }
    let reasons = sonde_bpf::DropReasons::from_running_kernel().expect("BTF has the drop reasons");
    assert!(
        reasons.len() > 50,
        "the core enum alone has more: {}",
        reasons.len()
    );
    let by_name = |name: &str| (0..0x1_0000).find(|code| reasons.name(*code) == name);
    let no_socket = by_name("NO_SOCKET").expect("NO_SOCKET is a core reason");
    let netfilter = by_name("NETFILTER_DROP").expect("NETFILTER_DROP is a core reason");
    assert_ne!(no_socket, netfilter);
    // A newer kernel's reason is shown by number, not dropped.
    assert_eq!(reasons.name(0xfffe_fffe), "UNKNOWN_4294901758");
}

/// A write and a read on a loopback TCP connection arrive as data records
/// with their exact bytes, offsets and directions; a pipe write does not.
#[test]
fn capture_copies_socket_bytes_and_nothing_else() {
    use sonde_bpf::{abi, CaptureProgram, NetworkOptions, NetworkProgram};
    use std::io::{Read, Write};

    if !kernel_ready() {
        return;
    }
    let network = NetworkProgram::load(NetworkOptions {
        ring_bytes: 1 << 20,
        report_interval: Duration::from_secs(30),
        drop_records_per_sec: 100,
    })
    .expect("load network programs");
    let capture = CaptureProgram::load(1 << 22, &network).expect("load capture programs");
    let ring = capture.events().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let me = std::process::id();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&ring, move |bytes| {
            if let Record::Data(d) = decode(bytes).expect("kernel record decodes") {
                if d.event.pid == me {
                    sink.lock().unwrap().push((d.event, d.data.to_vec()));
                }
            }
            0
        })
        .unwrap();
    let rb = builder.build().unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 18];
    server.read_exact(&mut buf).unwrap();
    client.write_all(b"second").unwrap();
    let mut pipe = tempfile_pipe();
    pipe.write_all(b"not a socket").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 3 && Instant::now() < deadline {
        // The kernel wakes readers only for a backlog: drain on a timer.
        rb.poll(Duration::from_millis(50)).unwrap();
        rb.consume().unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let summary: Vec<(u8, u64, u32, Vec<u8>)> = seen
        .iter()
        .map(|(e, d)| (e.direction, e.offset, e.len, d.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (abi::EGRESS, 0, 18, b"GET / HTTP/1.1\r\n\r\n".to_vec()),
            (abi::INGRESS, 0, 18, b"GET / HTTP/1.1\r\n\r\n".to_vec()),
            (abi::EGRESS, 18, 6, b"second".to_vec()),
        ]
    );
    assert_eq!(seen[0].0.tuple.dport, port);
    assert_eq!(seen[1].0.tuple.sport, port);
    assert_ne!(seen[0].0.conn_id, 0);
}

fn tempfile_pipe() -> std::fs::File {
    let (_read, write) = nix::unistd::pipe().unwrap();
    std::mem::forget(_read);
    std::fs::File::from(write)
}
