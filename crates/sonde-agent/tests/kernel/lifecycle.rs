use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio as Io};

use sonde_event::{EventFilter, EventKind, FileType, Origin, SocketFamily, Stdio, StdioFile};

use crate::harness::{run, start, this_pid};

#[test]
fn exit_code_of_sh_c_exit_7() {
    let Some(mut agent) = start() else { return };
    let (pid, code) = run("/bin/sh", &["-c", "exit 7"]);
    assert_eq!(code, Some(7));

    let exec = agent.exec_of(pid);
    let p = &exec.process;
    assert_eq!(p.binary, "/bin/sh");
    assert_eq!(p.argv, ["/bin/sh", "-c", "exit 7"]);
    assert!(!p.argv_truncated);
    assert_eq!((p.pid, p.tid, p.ppid), (pid, pid, this_pid()));
    assert_eq!(p.uid, nix::unistd::getuid().as_raw());
    assert_eq!(p.euid, nix::unistd::geteuid().as_raw());
    assert_eq!(p.gid, nix::unistd::getgid().as_raw());
    assert_eq!(p.cwd, std::env::current_dir().unwrap().to_str().unwrap());
    assert_eq!(p.origin, Origin::Exec);
    assert_eq!(p.comm, "sh");
    assert_eq!(
        exec.ancestors[0].pid,
        this_pid(),
        "the test process is the parent"
    );
    assert_eq!(
        p.parent_exec_id.as_deref(),
        Some(exec.ancestors[0].exec_id.as_str())
    );
    let me = std::fs::read_link("/proc/self/ns/pid").unwrap();
    assert_eq!(me.to_str().unwrap(), format!("pid:[{}]", p.namespaces.pid));

    let exit = agent.exit_of(pid);
    assert_eq!(exit.status.code, Some(7));
    assert_eq!(exit.status.signal, None);
    assert_eq!(
        exit.process.exec_id, p.exec_id,
        "the exit names the image that exited"
    );
    assert!(exit.duration_ns > 0 && exit.duration_ns < 10_000_000_000);
    assert!(exit.time >= exec.time);

    let stored = agent.stored(EventFilter {
        pid: Some(pid),
        ..EventFilter::default()
    });
    assert_eq!(
        stored.iter().map(|e| e.kind()).collect::<Vec<_>>(),
        [EventKind::ProcessExec, EventKind::ProcessExit]
    );
    agent.assert_no_loss();
}

#[test]
fn three_level_process_tree_has_exact_ancestry() {
    let Some(mut agent) = start() else { return };
    // `; exit $?` keeps each shell from exec'ing its last command in place.
    let script = "/bin/sh -c '/bin/sh -c \"/bin/sh -c \\\"exit 5\\\" tree3; exit \\$?\" tree2; exit $?' tree1; exit $?";
    let (top, code) = run("/bin/sh", &["-c", script]);
    assert_eq!(code, Some(5));

    let [l1, l2, l3] =
        ["tree1", "tree2", "tree3"].map(|level| agent.execs_with(level, 1).remove(0));
    assert_eq!(l1.process.ppid, top);
    assert_eq!(l2.process.ppid, l1.process.pid);
    assert_eq!(l3.process.ppid, l2.process.pid);
    assert_eq!(
        l2.process.parent_exec_id.as_ref(),
        Some(&l1.process.exec_id)
    );
    assert_eq!(
        l3.process.parent_exec_id.as_ref(),
        Some(&l2.process.exec_id)
    );
    let chain: Vec<u32> = l3.ancestors.iter().take(4).map(|a| a.pid).collect();
    assert_eq!(chain, [l2.process.pid, l1.process.pid, top, this_pid()]);
    assert_eq!(l3.ancestors[0].exec_id, l2.process.exec_id);
    assert_eq!(l3.ancestors[1].exec_id, l1.process.exec_id);
    assert_eq!(l3.ancestors[0].binary, "/bin/sh");
    assert_eq!(l3.process.argv, ["/bin/sh", "-c", "exit 5", "tree3"]);
    for level in [&l1, &l2, &l3] {
        assert_eq!(agent.exit_of(level.process.pid).status.code, Some(5));
    }
    agent.assert_no_loss();
}

#[test]
fn three_hundred_arguments_arrive_whole() {
    let Some(mut agent) = start() else { return };
    let args: Vec<String> = (0..300).map(|i| format!("arg-{i}")).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (pid, code) = run("/bin/true", &refs);
    assert_eq!(code, Some(0));
    let p = agent.exec_of(pid).process;
    assert_eq!(p.argv.len(), 301);
    assert_eq!(p.argv[0], "/bin/true");
    assert_eq!(&p.argv[1..], &args[..]);
    assert!(!p.argv_truncated);
    agent.assert_no_loss();
}

#[test]
fn a_10_kb_argument_arrives_whole_and_a_40_kb_one_is_cut_and_flagged() {
    let Some(mut agent) = start() else { return };
    let ten_kb = "x".repeat(10 * 1024);
    let (pid, _) = run("/bin/true", &[&ten_kb]);
    let p = agent.exec_of(pid).process;
    assert_eq!(p.argv, ["/bin/true", ten_kb.as_str()]);
    assert!(!p.argv_truncated);

    let forty_kb = "y".repeat(40 * 1024);
    let (pid, _) = run("/bin/true", &["first", &forty_kb]);
    let p = agent.exec_of(pid).process;
    assert!(p.argv_truncated);
    assert_eq!(&p.argv[..2], ["/bin/true", "first"]);
    let kept = sonde_bpf::abi::ARGS_MAX - "/bin/true\0first\0".len();
    assert_eq!(
        p.argv[2],
        "y".repeat(kept),
        "cut exactly at the capture bound"
    );
    assert_eq!(agent.handle.stats().snapshot().argv_truncated, 1);
    agent.assert_no_loss();
}

#[test]
fn death_by_signal_is_named() {
    let Some(mut agent) = start() else { return };
    let (pid, code) = run("/bin/sh", &["-c", "kill -KILL $$"]);
    assert_eq!(code, None);
    let exit = agent.exit_of(pid);
    assert_eq!(exit.status.code, None);
    assert_eq!(exit.status.signal.as_deref(), Some("SIGKILL"));
    assert!(!exit.status.core_dumped);
    agent.assert_no_loss();
}

#[test]
fn credentials_of_an_unprivileged_exec() {
    let Some(mut agent) = start() else { return };
    let (_, code) = run(
        "setpriv",
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/bin/true",
            "nobody-marker",
        ],
    );
    assert_eq!(code, Some(0));
    // setpriv's own argv carries the marker too; the second exec is /bin/true.
    let [setpriv, child] = <[_; 2]>::try_from(agent.execs_with("nobody-marker", 2)).unwrap();
    assert_eq!((setpriv.process.uid, setpriv.process.euid), (0, 0));
    let p = child.process;
    assert_eq!(p.binary, "/bin/true");
    assert_eq!(p.ppid, setpriv.process.ppid, "setpriv exec'd in place");
    assert_eq!((p.uid, p.euid, p.gid, p.egid), (65534, 65534, 65534, 65534));
    agent.assert_no_loss();
}

#[test]
fn controlling_terminal_is_named() {
    let Some(mut agent) = start() else { return };
    // `script` runs the command on a new pseudo-terminal.
    let (_, code) = run("script", &["-qec", "/bin/true tty-marker", "/dev/null"]);
    assert_eq!(code, Some(0));
    let p = agent.execs_with("tty-marker", 1).remove(0).process;
    let tty = p.tty.expect("a controlling terminal");
    let number = tty.strip_prefix("pts/").expect("a pseudo-terminal");
    assert!(number.parse::<u32>().is_ok(), "{tty}");
    let on_tty = StdioFile {
        kind: FileType::Tty,
        family: None,
    };
    assert_eq!(
        p.stdio,
        Some(Stdio {
            stdin: on_tty,
            stdout: on_tty,
            stderr: on_tty
        })
    );
    agent.assert_no_loss();
}

/// Runs `/bin/sh -c 'exit 0' MARKER` with the given standard streams;
/// returns its pid.
fn run_with_stdio(marker: &str, stdin: Io, stdout: Io, stderr: Io) -> u32 {
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exit 0", marker])
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    pid
}

#[test]
fn stdio_on_a_tcp_connection_is_seen_at_exec() {
    let Some(mut agent) = start() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let (unix, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let pid = run_with_stdio(
        "stdio-tcp-marker",
        Io::from(OwnedFd::from(client.try_clone().unwrap())),
        Io::from(OwnedFd::from(client)),
        Io::from(OwnedFd::from(unix)),
    );
    let exec = agent.exec_of(pid);
    let inet = StdioFile {
        kind: FileType::Socket,
        family: Some(SocketFamily::Inet),
    };
    let expected = Stdio {
        stdin: inet,
        stdout: inet,
        stderr: StdioFile {
            kind: FileType::Socket,
            family: Some(SocketFamily::Unix),
        },
    };
    assert_eq!(exec.process.stdio, Some(expected));
    // The exit carries the image, stdio included.
    assert_eq!(agent.exit_of(pid).process.stdio, Some(expected));
    agent.assert_no_loss();
}

#[test]
fn stdio_from_dev_null_a_pipe_and_a_file_is_seen_at_exec() {
    let Some(mut agent) = start() else { return };
    let file = tempfile::tempfile().unwrap();
    let pid = run_with_stdio("stdio-null-marker", Io::null(), Io::piped(), Io::from(file));
    let exec = agent.exec_of(pid);
    let of = |kind| StdioFile { kind, family: None };
    assert_eq!(
        exec.process.stdio,
        Some(Stdio {
            stdin: of(FileType::Chr),
            stdout: of(FileType::Pipe),
            stderr: of(FileType::File),
        })
    );
    // Closed fds, and a directory: `exec <&-` closes stdin before the exec.
    let (_, code) = run(
        "/bin/sh",
        &[
            "-c",
            "exec /bin/sh -c 'exit 0' stdio-closed-marker <&- >&- 2</",
        ],
    );
    assert_eq!(code, Some(0));
    let exec = agent.execs_with("stdio-closed-marker", 1).remove(0);
    assert_eq!(
        exec.process.stdio,
        Some(Stdio {
            stdin: of(FileType::Closed),
            stdout: of(FileType::Closed),
            stderr: of(FileType::Dir),
        })
    );
    agent.assert_no_loss();
}
