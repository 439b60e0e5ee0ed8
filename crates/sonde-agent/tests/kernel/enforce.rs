//! Enforcement (bpf/enforce.bpf.c) on the real kernel: a killed program
//! never runs its first instruction, a denied connect gets EPERM, dry runs
//! only report, and policies against sonde or PID 1 are refused.

use std::fs;
use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use sonde_agent::enforce::{Enforcer, Policy, PolicyError};
use sonde_event::{Enforcement, EnforcementAction, Event, EventFilter, EventKind};

use crate::harness::{start_with, TestAgent};

/// An agent without detection rules: enforcement is installed directly.
fn start() -> Option<TestAgent> {
    start_with(|c| c.rules.builtin = false)
}

/// Its first action writes the file named by argv[1]. Static, so not even
/// a dynamic loader runs before it.
const MARKER_WRITER: &str = r#"
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return 2;
    write(fd, "ran\n", 4);
    close(fd);
    return 0;
}
"#;

/// Waits for a line on stdin (so the test can move it into a cgroup), then
/// connects to argv[3] (default 127.0.0.1) port argv[1]; exits 0 on
/// success, 1 on EPERM, 3 else.
const CONNECTOR: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char line[16];
    if (argc > 2 && !fgets(line, sizeof line, stdin)) return 4;
    const char *addr = argc > 3 ? argv[3] : "127.0.0.1";
    /* "udp": one datagram by sendto() on an unconnected socket. */
    int udp = argc > 4 && argv[4][0] == 'u';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[1]))};
    struct sockaddr *to = (struct sockaddr *)&a;
    socklen_t len = sizeof a;
    int s, r, family = AF_INET;
    if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
        family = AF_INET6;
        to = (struct sockaddr *)&a6;
        len = sizeof a6;
    } else {
        inet_pton(AF_INET, addr, &a.sin_addr);
    }
    s = socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (udp)
        r = sendto(s, "x", 1, 0, to, len) == 1 ? 0 : -1;
    else
        r = connect(s, to, len);
    if (r == 0) return 0;
    return errno == EPERM ? 1 : 3;
}
"#;

/// Compiles `source` into `dir/name` with the system's C compiler.
fn compile(dir: &Path, name: &str, source: &str, static_link: bool) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let mut cc = Command::new("cc");
    if static_link {
        cc.arg("-static");
    }
    let status = cc
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success(), "cc {name}");
    out
}

fn kill_path(rule: &str, path: &Path, dry_run: bool) -> Policy {
    Policy::Kill {
        rule: rule.into(),
        binary_path: Some(path.to_string_lossy().into_owned()),
        binary_name: None,
        ancestor: None,
        cgroup: None,
        dry_run,
    }
}

fn enforcement_of(agent: &mut TestAgent, pid: u32, action: EnforcementAction) -> Enforcement {
    agent.wait_for(&format!("{action:?} enforcement of {pid}"), |events| {
        events.iter().find_map(|e| match &**e {
            Event::Enforcement(x) if x.pid == pid && x.action == action => Some((**x).clone()),
            _ => None,
        })
    })
}

fn stored_enforcements(agent: &TestAgent) -> Vec<Enforcement> {
    agent
        .stored(EventFilter {
            kinds: vec![EventKind::Enforcement],
            ..EventFilter::default()
        })
        .into_iter()
        .filter_map(|e| match e {
            Event::Enforcement(x) => Some(*x),
            _ => None,
        })
        .collect()
}

fn wait_stored(agent: &TestAgent, pid: u32) -> Enforcement {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(e) = stored_enforcements(agent)
            .into_iter()
            .find(|e| e.pid == pid)
        {
            return e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "enforcement of {pid} stored"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn kill_at_exec_stops_the_program_before_its_first_instruction() {
    let Some(mut agent) = start() else { return };
    let Some(enforcer) = agent.handle.enforcer().cloned() else {
        eprintln!("SKIP: this kernel could not load the enforcement programs");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let program = compile(dir.path(), "sonde-marker-writer", MARKER_WRITER, true);
    // Unprotected, it runs and writes its marker.
    let marker = dir.path().join("before");
    assert!(Command::new(&program)
        .arg(&marker)
        .status()
        .unwrap()
        .success());
    assert!(marker.exists(), "the program works when not killed");

    enforcer
        .apply(&[kill_path("no-marker-writer", &program, false)])
        .unwrap();
    let marker = dir.path().join("killed");
    let mut child = Command::new(&program).arg(&marker).spawn().unwrap();
    let pid = child.id();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "killed by SIGKILL: {status:?}"
    );
    assert!(
        !marker.exists(),
        "the killed program never ran its first instruction"
    );
    let e = enforcement_of(&mut agent, pid, EnforcementAction::Kill);
    assert_eq!(e.rule, "no-marker-writer");
    assert!(!e.dry_run && !e.spared);
    assert_eq!(e.error, None);
    assert_eq!(e.binary.as_deref(), program.to_str());
    assert_eq!(e.comm, "sonde-marker-wr");
    let process = e.process.as_ref().expect("the killed process is described");
    assert_eq!(Some(process.binary.as_str()), program.to_str());
    let stored = wait_stored(&agent, pid);
    assert_eq!(stored.action, EnforcementAction::Kill);
    println!(
        "killed pid {pid} with {status:?}; marker {} absent",
        marker.display()
    );

    // Dry run: it runs, writes its marker, and the would-be kill is recorded.
    enforcer
        .apply(&[kill_path("no-marker-writer-dry", &program, true)])
        .unwrap();
    let marker = dir.path().join("dry-run");
    let mut child = Command::new(&program).arg(&marker).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    assert!(marker.exists(), "a dry run does not kill");
    let e = enforcement_of(&mut agent, pid, EnforcementAction::Kill);
    assert!(e.dry_run);
    assert_eq!(e.rule, "no-marker-writer-dry");
    wait_stored(&agent, pid);

    // By name, only below an ancestor with a given name: a copy of sh
    // named for this test (its comm is the ancestor's).
    let shell = dir.path().join("sonde-anc-sh");
    fs::copy("/bin/sh", &shell).unwrap();
    enforcer
        .apply(&[Policy::Kill {
            rule: "marker-writer-under-shell".into(),
            binary_path: None,
            binary_name: Some("sonde-marker-writer".into()),
            ancestor: Some("sonde-anc-sh".into()),
            cgroup: None,
            dry_run: false,
        }])
        .unwrap();
    let direct = dir.path().join("direct");
    assert!(Command::new(&program)
        .arg(&direct)
        .status()
        .unwrap()
        .success());
    assert!(direct.exists(), "no such ancestor: not killed");
    let below = dir.path().join("below");
    let script = format!(
        "{} {}; echo $? > {}/code",
        program.display(),
        below.display(),
        dir.path().display()
    );
    // (The shell's "Killed" notice is not wanted in the test output.)
    assert!(Command::new(&shell)
        .args(["-c", &script])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success());
    assert!(!below.exists(), "below the ancestor: killed");
    let code = fs::read_to_string(dir.path().join("code")).unwrap();
    assert_eq!(code.trim(), "137", "the shell saw SIGKILL");

    enforcer.apply(&[]).unwrap();
    let after = dir.path().join("after");
    assert!(Command::new(&program)
        .arg(&after)
        .status()
        .unwrap()
        .success());
    assert!(after.exists(), "cleared policies kill nothing");
    agent.assert_no_loss();
}

#[test]
fn kill_policies_against_sonde_or_pid_1_are_refused() {
    let Some(mut agent) = start() else { return };
    let Some(enforcer) = agent.handle.enforcer().cloned() else {
        eprintln!("SKIP: this kernel could not load the enforcement programs");
        return;
    };
    let own = fs::read_link("/proc/self/exe").unwrap();
    let pid1_argv0 = fs::read("/proc/1/cmdline")
        .ok()
        .and_then(|c| {
            c.split(|&b| b == 0)
                .next()
                .map(|a| String::from_utf8_lossy(a).into_owned())
        })
        .filter(|a| a.starts_with('/'));
    let mut refused = vec![
        kill_path("self", &own, false),
        kill_path("init", Path::new("/sbin/init"), false),
        Policy::Kill {
            rule: "self-by-name".into(),
            binary_path: None,
            binary_name: own.file_name().map(|n| n.to_string_lossy().into_owned()),
            ancestor: None,
            cgroup: None,
            dry_run: true,
        },
    ];
    if let Some(a) = &pid1_argv0 {
        refused.push(kill_path("pid1", Path::new(a), false));
    }
    let dir = tempfile::tempdir().unwrap();
    let program = compile(dir.path(), "sonde-marker-writer", MARKER_WRITER, true);
    enforcer
        .apply(&[kill_path("kept", &program, true)])
        .unwrap();
    for policy in refused {
        // Alongside a valid policy: the whole set is refused, the old one stays.
        let set = [
            kill_path("valid", Path::new("/bin/true"), false),
            policy.clone(),
        ];
        let err = enforcer.apply(&set).unwrap_err();
        assert!(
            matches!(err, PolicyError::Refused { .. }),
            "{policy:?}: {err}"
        );
        println!("refused: {err}");
    }
    assert_eq!(enforcer.policies(), vec![kill_path("kept", &program, true)]);
    let marker = dir.path().join("kept");
    let mut child = Command::new(&program).arg(&marker).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    let e = enforcement_of(&mut agent, pid, EnforcementAction::Kill);
    assert_eq!(e.rule, "kept");
    assert!(e.dry_run);
    assert!(Command::new("/bin/true").status().unwrap().success());
    enforcer.apply(&[]).unwrap();
}

/// A child cgroup of the unified hierarchy, removed on drop.
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

/// An agent that enforces, and a cgroup of the test's own below the cgroup2
/// root (removed on drop), with a scratch directory.
struct CgroupScene {
    agent: TestAgent,
    enforcer: Arc<Enforcer>,
    cgroup: TestCgroup,
    /// The cgroup's path below the root, without the leading `/`.
    name: String,
    dir: tempfile::TempDir,
}

/// The scene for one test, or None (said why) when the machine has no
/// cgroup2 hierarchy or cannot load the enforcement programs.
fn cgroup_scene(tag: &str) -> Option<CgroupScene> {
    let Some(mount) = cgroup2_mount() else {
        eprintln!("SKIP: no cgroup2 hierarchy is mounted");
        return None;
    };
    let agent = start()?;
    let Some(enforcer) = agent.handle.enforcer().cloned() else {
        eprintln!("SKIP: this kernel could not load the enforcement programs");
        return None;
    };
    let name = format!("sonde-enforce-{tag}-{}", std::process::id());
    let cgroup = TestCgroup(mount.join(&name));
    fs::create_dir(&cgroup.0).unwrap();
    Some(CgroupScene {
        agent,
        enforcer,
        cgroup,
        name,
        dir: tempfile::tempdir().unwrap(),
    })
}

fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

/// Runs the connector in `cgroup` (or where the test runs); its exit code.
fn connect_from(connector: &Path, port: u16, cgroup: Option<&Path>) -> (u32, i32) {
    connect_to(connector, "127.0.0.1", port, cgroup)
}

fn connect_to(connector: &Path, addr: &str, port: u16, cgroup: Option<&Path>) -> (u32, i32) {
    run_connector(connector, &[&port.to_string(), "wait", addr], cgroup)
}

/// One datagram to `addr`:`port` by sendto() on an unconnected socket.
fn send_to(connector: &Path, addr: &str, port: u16, cgroup: Option<&Path>) -> (u32, i32) {
    run_connector(connector, &[&port.to_string(), "wait", addr, "udp"], cgroup)
}

fn run_connector(connector: &Path, args: &[&str], cgroup: Option<&Path>) -> (u32, i32) {
    let mut child = Command::new(connector)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(cgroup) = cgroup {
        fs::write(cgroup.join("cgroup.procs"), child.id().to_string()).unwrap();
    }
    writeln!(child.stdin.take().unwrap(), "go").unwrap();
    let pid = child.id();
    (pid, child.wait().unwrap().code().unwrap_or(-1))
}

#[test]
fn deny_connect_in_a_cgroup_gets_eperm() {
    let Some(CgroupScene {
        mut agent,
        enforcer,
        cgroup,
        name,
        dir,
    }) = cgroup_scene("connect")
    else {
        return;
    };
    let connector = compile(dir.path(), "sonde-connector", CONNECTOR, false);
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let port = listener.local_addr().unwrap().port();
    let l = listener.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            drop(conn);
        }
    });
    let deny = |dry_run| Policy::DenyConnect {
        rule: if dry_run {
            "no-local-port-dry"
        } else {
            "no-local-port"
        }
        .into(),
        cidr: "127.0.0.1/32".into(),
        port: Some(port),
        cgroup: Some(PathBuf::from(format!("/{name}"))),
        dry_run,
    };
    enforcer.apply(&[deny(false)]).unwrap();

    let (pid, code) = connect_from(&connector, port, Some(&cgroup.0));
    assert_eq!(code, 1, "connect from inside the cgroup fails with EPERM");
    let e = enforcement_of(&mut agent, pid, EnforcementAction::DenyConnect);
    assert_eq!(e.rule, "no-local-port");
    assert!(!e.dry_run);
    let d = e.destination.unwrap();
    assert_eq!((d.ip.to_string().as_str(), d.port), ("127.0.0.1", port));
    assert_eq!(e.comm, "sonde-connector");
    wait_stored(&agent, pid);
    println!("pid {pid} in {name}: connect to 127.0.0.1:{port} denied (EPERM)");

    let (_, code) = connect_from(&connector, port, None);
    assert_eq!(code, 0, "outside the cgroup the connect succeeds");

    // Another port from inside the cgroup is not denied.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    let (_, code) = connect_from(&connector, other_port, Some(&cgroup.0));
    assert_eq!(code, 0, "other ports are not denied");

    // IPv6 (cgroup/connect6), a whole network, any port.
    let v6 = Arc::new(TcpListener::bind("[::1]:0").unwrap());
    let v6_port = v6.local_addr().unwrap().port();
    let l = v6.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            drop(conn);
        }
    });
    enforcer
        .apply(&[
            deny(false),
            Policy::DenyConnect {
                rule: "no-v6-loopback".into(),
                cidr: "::/64".into(),
                port: None,
                cgroup: Some(PathBuf::from(format!("/{name}"))),
                dry_run: false,
            },
        ])
        .unwrap();
    let (pid, code) = connect_to(&connector, "::1", v6_port, Some(&cgroup.0));
    assert_eq!(
        code, 1,
        "IPv6 connect from inside the cgroup fails with EPERM"
    );
    let e = enforcement_of(&mut agent, pid, EnforcementAction::DenyConnect);
    assert_eq!(e.rule, "no-v6-loopback");
    assert_eq!(e.destination.unwrap().ip.to_string(), "::1");
    let (_, code) = connect_to(&connector, "::1", v6_port, None);
    assert_eq!(code, 0, "IPv6 outside the cgroup succeeds");

    // Dry run: allowed and recorded.
    enforcer.apply(&[deny(true)]).unwrap();
    let (pid, code) = connect_from(&connector, port, Some(&cgroup.0));
    assert_eq!(code, 0, "a dry run allows the connect");
    let e = enforcement_of(&mut agent, pid, EnforcementAction::DenyConnect);
    assert!(e.dry_run);
    assert_eq!(e.rule, "no-local-port-dry");
    wait_stored(&agent, pid);

    enforcer.apply(&[]).unwrap();
    let (_, code) = connect_from(&connector, port, Some(&cgroup.0));
    assert_eq!(code, 0, "cleared policies deny nothing");
    agent.assert_no_loss();
}

#[test]
fn deny_connect_covers_datagrams_sent_without_a_connect() {
    let Some(CgroupScene {
        mut agent,
        enforcer,
        cgroup,
        name,
        dir,
    }) = cgroup_scene("udp")
    else {
        return;
    };
    let connector = compile(dir.path(), "sonde-connector", CONNECTOR, false);
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let port = receiver.local_addr().unwrap().port();
    let received = || {
        let mut buf = [0u8; 8];
        receiver.recv(&mut buf).map(|n| buf[..n].to_vec()).ok()
    };
    let deny = |dry_run| Policy::DenyConnect {
        rule: "no-udp-to-local-port".into(),
        cidr: "127.0.0.0/8".into(),
        port: Some(port),
        cgroup: Some(PathBuf::from(format!("/{name}"))),
        dry_run,
    };
    enforcer.apply(&[deny(false)]).unwrap();

    let (pid, code) = send_to(&connector, "127.0.0.1", port, Some(&cgroup.0));
    assert_eq!(code, 1, "sendto from inside the cgroup fails with EPERM");
    let e = enforcement_of(&mut agent, pid, EnforcementAction::DenySend);
    assert_eq!(e.rule, "no-udp-to-local-port");
    assert!(!e.dry_run);
    let d = e.destination.unwrap();
    assert_eq!((d.ip.to_string().as_str(), d.port), ("127.0.0.1", port));

    let (_, code) = send_to(&connector, "127.0.0.1", port, None);
    assert_eq!(code, 0, "outside the cgroup the datagram is sent");
    assert_eq!(received(), Some(b"x".to_vec()), "and it arrives");

    enforcer.apply(&[deny(true)]).unwrap();
    let (pid, code) = send_to(&connector, "127.0.0.1", port, Some(&cgroup.0));
    assert_eq!(code, 0, "a dry run lets the datagram go");
    assert_eq!(received(), Some(b"x".to_vec()));
    let e = enforcement_of(&mut agent, pid, EnforcementAction::DenySend);
    assert!(e.dry_run);
    enforcer.apply(&[]).unwrap();
    let exposition = agent.handle.stats().snapshot().to_prometheus();
    for mode in ["enforced", "dry_run"] {
        let line = format!(
            "sonde_enforcements_total{{rule=\"no-udp-to-local-port\",action=\"deny_send\",mode=\"{mode}\"}} 1"
        );
        assert!(exposition.contains(&line), "{line} in /metrics");
    }
    agent.assert_no_loss();
}

#[test]
fn kill_scoped_to_a_cgroup_spares_other_cgroups() {
    let Some(CgroupScene {
        mut agent,
        enforcer,
        cgroup,
        name,
        dir,
    }) = cgroup_scene("kill")
    else {
        return;
    };
    let program = compile(dir.path(), "sonde-marker-writer", MARKER_WRITER, true);
    enforcer
        .apply(&[Policy::Kill {
            rule: "marker-writer-in-cgroup".into(),
            binary_path: None,
            binary_name: Some("sonde-marker-writer".into()),
            ancestor: None,
            cgroup: Some(PathBuf::from(format!("/{name}"))),
            dry_run: false,
        }])
        .unwrap();
    let outside = dir.path().join("outside");
    assert!(Command::new(&program)
        .arg(&outside)
        .status()
        .unwrap()
        .success());
    assert!(outside.exists(), "outside the cgroup: not killed");

    // A shell waits to be moved into the cgroup, then runs the program.
    let inside = dir.path().join("inside");
    let script = format!(
        "read line; {} {}; echo $? > {}/code",
        program.display(),
        inside.display(),
        dir.path().display()
    );
    let mut shell = Command::new("/bin/sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fs::write(cgroup.0.join("cgroup.procs"), shell.id().to_string()).unwrap();
    writeln!(shell.stdin.take().unwrap(), "go").unwrap();
    assert!(shell.wait().unwrap().success());
    assert!(!inside.exists(), "inside the cgroup: killed before it ran");
    let code = fs::read_to_string(dir.path().join("code")).unwrap();
    assert_eq!(code.trim(), "137", "SIGKILL");
    let e = agent.wait_for("the kill in the cgroup", |events| {
        events.iter().find_map(|e| match &**e {
            Event::Enforcement(x) if x.rule == "marker-writer-in-cgroup" => Some((**x).clone()),
            _ => None,
        })
    });
    let id = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&cgroup.0).unwrap());
    assert_eq!(e.cgroup_id, id);
    enforcer.apply(&[]).unwrap();
    agent.assert_no_loss();
}
