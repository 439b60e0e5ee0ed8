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
                Record::Tcp(_)
                | Record::Drop(_)
                | Record::Data(_)
                | Record::Sample(_)
                | Record::File(_)
                | Record::Security(_)
                | Record::Enforce(_)
                | Record::Listen(_) => {
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
    for load_only in ["tc", "xdp", "cgroup_skb", "sock_ops", "cgroup_sock_addr"] {
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

/// The address range of a kernel function, from /proc/kallsyms (sorted by
/// address: the function ends where the next symbol starts).
fn kallsyms_range(name: &str) -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let mut symbols: Vec<(u64, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            Some((addr, f.nth(1)?))
        })
        .collect();
    symbols.sort();
    let at = symbols.iter().position(|&(_, n)| n == name).unwrap();
    (symbols[at].0, symbols[at + 1].0)
}

/// The CPU time (user and system) of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

#[test]
fn profiler_samples_one_process_with_kernel_and_user_stacks() {
    use sonde_bpf::{abi, ProfileOptions, ProfileProgram};

    if !kernel_ready() {
        return;
    }
    let mut dd = Command::new("dd")
        .args(["if=/dev/zero", "of=/dev/null", "bs=1M", "count=1000000"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let profiler = ProfileProgram::load(ProfileOptions {
        hz: 499,
        pid: Some(dd.id()),
        copy_stack: true,
        ring_bytes: 1 << 22,
    })
    .expect("load the profiler");
    let cpu_before = cpu_seconds(dd.id());
    let ring = profiler.events().unwrap();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sink = samples.clone();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&ring, move |bytes| {
            if let Record::Sample(s) = decode(bytes).expect("kernel record decodes") {
                sink.lock().unwrap().push((
                    s.event,
                    s.kernel_stack().collect::<Vec<_>>(),
                    s.user_stack().collect::<Vec<_>>(),
                    s.stack.len(),
                ));
            }
            0
        })
        .unwrap();
    let rb = builder.build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        rb.poll(Duration::from_millis(50)).unwrap();
        rb.consume().unwrap();
    }
    let cpu_seconds = cpu_seconds(dd.id()) - cpu_before;
    let counters = profiler.counters().unwrap().read().unwrap();
    assert_eq!(
        profiler.lost_counter().unwrap().read().unwrap()[usize::from(abi::EVENT_SAMPLE)],
        0
    );
    drop(profiler);
    rb.consume().unwrap();
    dd.kill().unwrap();
    dd.wait().unwrap();

    let samples = samples.lock().unwrap();
    // 499 a second of the CPU time dd had (the clock ticks at 100 Hz).
    let expected = cpu_seconds * 499.0;
    assert!(
        (samples.len() as f64 - expected).abs() <= expected * 0.1 + 10.0,
        "{} samples for {cpu_seconds:.2} s of CPU",
        samples.len()
    );
    assert!(counters[abi::PROF_SAMPLES as usize] >= samples.len() as u64);
    assert!(
        counters[abi::PROF_FILTERED as usize] > 0,
        "the other CPU, or others on dd's"
    );
    assert!(samples.iter().all(|(e, ..)| e.pid == dd.id()));
    let (start, end) = kallsyms_range("read_zero");
    let in_read_zero = samples
        .iter()
        .filter(|(_, k, ..)| k.iter().any(|&a| (start..end).contains(&a)))
        .count();
    assert!(
        in_read_zero * 4 > samples.len(),
        "read_zero in {in_read_zero} of {} kernel stacks",
        samples.len()
    );
    let kernel_mode = samples
        .iter()
        .filter(|(e, ..)| e.flags & abi::SAMPLE_KERNEL_MODE != 0)
        .count();
    assert!(kernel_mode >= in_read_zero);
    assert!(samples.iter().all(|(e, _, u, copied)| !u.is_empty()
        && e.user_sp != 0
        && *copied > 0
        && e.stack_len as usize == *copied));
    assert_eq!(
        samples
            .iter()
            .filter(|(e, ..)| e.flags & abi::SAMPLE_NEW_PROCESS != 0)
            .count(),
        1
    );
}
