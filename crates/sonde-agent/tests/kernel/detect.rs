//! Detection on real kernel events: the default rules against Falco's
//! event-generator actions (as plain shell, in throwaway mount namespaces),
//! against one action per rule, and against a benign workload that must raise
//! nothing.
//!
//! Every action runs as `unshare -m --propagation private sh SETUP ACTION`:
//! SETUP mounts overlays on /etc, /usr/bin, /usr/sbin, /usr/lib, /root,
//! /dev, /var/log and /var/lib and a tmpfs on /tmp, so what an action writes
//! there vanishes with the namespace; the real directories are never
//! written. /var/lib comes last: the overlays' upper directories are below
//! it (in [`scratch`]), and an overlay on /var/lib hides them. An alert
//! belongs to an action when its process is the action's shell or descends
//! from it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_event::{Alert, Event};
use tokio::sync::broadcast::{error::TryRecvError, Receiver};

use crate::harness;

/// Detected event-generator actions must not fall below this (ratchet).
const EVENT_GENERATOR_MIN_DETECTED: usize = 50;

/// The detection tests run one at a time: every process they start shares
/// one process tree (the test binary's), and rules over a time window keyed
/// on `proc.tree_id` would tie one test's actions to another's.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Longest wait for the pipeline to catch up after the actions.
const SETTLE: Duration = Duration::from_secs(45);

const SETUP: &str = r#"
T=$(mktemp -d -p "$SONDE_EG_SCRATCH") || exit 97
mount -t tmpfs sonde-eg "$T" || exit 97
# /var/lib last: its overlay hides the tmpfs at $T, which lies below it.
for d in /etc /usr/bin /usr/sbin /usr/lib /root /dev /var/log /var/lib; do
  n=$(echo "$d" | tr / _)
  mkdir -p "$T/u$n" "$T/w$n" || exit 97
  mount -t overlay sonde-eg -o "lowerdir=$d,upperdir=$T/u$n,workdir=$T/w$n" "$d" || exit 97
done
mount -t tmpfs sonde-eg /tmp || exit 97
mkdir -p /tmp/eg || exit 97
cd /tmp || exit 97
exec sh "$1"
"#;

/// Why the namespace could not be set up.
const SETUP_FAILED: i32 = 97;

/// Collects alerts from the live stream.
struct Alerts {
    live: Receiver<Arc<Event>>,
    seen: Vec<Alert>,
    /// Longest time from an event to its alert on the live stream.
    max_lag_ns: u64,
    /// Longest time from an event to the live stream, and its kind.
    max_event_lag_ns: u64,
    slowest: String,
    /// File and security events, to show what a rule that did not fire saw.
    other: Vec<Arc<Event>>,
    /// A file written after the actions: once its event is on the live
    /// stream, so is everything the actions did.
    marker: String,
    marker_seen: bool,
    /// pid → ancestor pids, from exec events: a file or security record may
    /// be read before its process's exec, and then carries no ancestry.
    execs: std::collections::HashMap<u32, Vec<u32>>,
}

impl Alerts {
    fn drain(&mut self) {
        loop {
            match self.live.try_recv() {
                Ok(e) => {
                    let lag = sonde_event::Timestamp::now().0.saturating_sub(e.time().0);
                    if !matches!(
                        &*e,
                        Event::TcpConnection(_)
                            | Event::UdpFlow(_)
                            | Event::Profile(_)
                            | Event::Alert(_)
                    ) && lag > self.max_event_lag_ns
                    {
                        self.max_event_lag_ns = lag;
                        self.slowest = format!("{:?}", e.kind());
                    }
                    if let Event::ProcessExec(x) = &*e {
                        self.execs
                            .insert(x.process.pid, x.ancestors.iter().map(|a| a.pid).collect());
                    }
                    if let Event::File(f) = &*e {
                        if !self.marker.is_empty() && f.path == self.marker {
                            self.marker_seen = true;
                        }
                    }
                    if matches!(&*e, Event::File(_) | Event::Security(_)) {
                        self.other.push(e.clone());
                    }
                    if let Event::Alert(a) = &*e {
                        let lag = sonde_event::Timestamp::now().0.saturating_sub(a.time.0);
                        self.max_lag_ns = self.max_lag_ns.max(lag);
                        self.seen.push((**a).clone());
                    }
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Lagged(n)) => eprintln!("(the live stream dropped {n} events)"),
                Err(e) => panic!("live stream: {e}"),
            }
        }
    }

    /// Whether the alert's process is `root` or below it.
    fn below(&self, a: &Alert, root: u32) -> bool {
        let pid = a.process.as_ref().map(|p| p.pid);
        pid == Some(root)
            || a.ancestors.iter().any(|x| x.pid == root)
            || pid
                .and_then(|p| self.execs.get(&p))
                .is_some_and(|anc| anc.contains(&root))
    }

    /// Rules that fired in the tree rooted at `root`.
    fn rules_below(&self, root: u32) -> BTreeSet<String> {
        self.seen
            .iter()
            .filter(|a| self.below(a, root))
            .map(|a| a.rule.clone())
            .collect()
    }
}

/// The tests' own files: outside every temporary directory, because the
/// actions' namespaces mount a tmpfs over /tmp (which would hide a target
/// dir under it) and programs run from a temporary directory are what one
/// of the rules looks for. (CI with its target dir under /tmp found both.)
fn scratch() -> PathBuf {
    let dir = PathBuf::from("/var/lib/sonde-detect-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs each (name, shell) action in its own throwaway namespace; returns
/// (name, root pid) in order, or None when the namespace cannot be made.
fn run_actions(actions: &[(String, String)], alerts: &mut Alerts) -> Option<Vec<(String, u32)>> {
    let dir = scratch();
    let setup = dir.join("setup.sh");
    std::fs::write(&setup, SETUP).unwrap();
    let mut roots = Vec::new();
    for (i, (name, shell)) in actions.iter().enumerate() {
        let script = dir.join(format!("action-{i}.sh"));
        std::fs::write(&script, format!("{shell}\n")).unwrap();
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh"])
            .arg(&setup)
            .arg(&script)
            .env("SONDE_EG_SCRATCH", &dir)
            .env("HOME", "/root")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            // The live stream keeps only the latest events: read it as we go.
            alerts.drain();
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() > deadline {
                eprintln!("action {name}: still running after 20 s, killed");
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if code == Some(SETUP_FAILED) {
            let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
            assert!(
                !filesystems.contains("overlay"),
                "the throwaway namespace could not be set up though overlayfs is there"
            );
            eprintln!("SKIP: no overlayfs for the throwaway mount namespaces");
            return None;
        }
        roots.push((name.clone(), pid));
    }
    Some(roots)
}

/// Where the settle marker is written (watched by the default prefixes and
/// by [`PER_RULE_WATCH`]).
const MARKER_DIR: &str = "/tmp/sonde-detect-marker";

/// Writes a marker file and waits (at most `limit`) until its file event is
/// on the live stream (file events come through their own ring, after the
/// process events), then one more second for the detection thread.
fn settle_after(alerts: &mut Alerts, limit: Duration) {
    std::fs::create_dir_all(MARKER_DIR).unwrap();
    alerts.marker = format!("{MARKER_DIR}/m-{}", std::process::id());
    alerts.marker_seen = false;
    let _ = Command::new("/bin/sh")
        .args(["-c", ": > \"$1\"; rm -f \"$1\"", "sh", &alerts.marker])
        .status();
    let end = Instant::now() + limit;
    while Instant::now() < end && !alerts.marker_seen {
        alerts.drain();
        std::thread::sleep(Duration::from_millis(20));
    }
    if !alerts.marker_seen {
        eprintln!("(the pipeline had not caught up after {limit:?})");
    }
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        alerts.drain();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the pipeline to evaluate what the actions did, then returns
/// the rules that fired per action.
fn alerts_per_action(
    alerts: &mut Alerts,
    roots: &[(String, u32)],
    settle: Duration,
) -> Vec<(String, BTreeSet<String>)> {
    settle_after(alerts, settle);
    eprintln!(
        "{} alerts in all; longest event-to-alert delay {:?}",
        alerts.seen.len(),
        Duration::from_nanos(alerts.max_lag_ns)
    );
    eprintln!(
        "longest event-to-live delay {:?} ({})",
        Duration::from_nanos(alerts.max_event_lag_ns),
        alerts.slowest
    );
    for a in alerts.seen.iter().take(5) {
        eprintln!(
            "  e.g. {} pid={:?} ancestors={:?}",
            a.rule,
            a.process.as_ref().map(|p| p.pid),
            a.ancestors.iter().map(|a| a.pid).collect::<Vec<_>>()
        );
    }
    roots
        .iter()
        .map(|(name, pid)| (name.clone(), alerts.rules_below(*pid)))
        .collect()
}

fn event_generator_actions(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, shell) = l.split_once('\t')?;
            Some((name.trim().to_string(), shell.to_string()))
        })
        .collect()
}

/// An agent watching the product's default prefixes (the harness's
/// default is none).
fn start() -> Option<(harness::TestAgent, Alerts)> {
    start_watching(&sonde_agent::DEFAULT_WATCH_PATHS)
}

/// `watch`: the file collector's prefixes.
fn start_watching(watch: &[&str]) -> Option<(harness::TestAgent, Alerts)> {
    let agent = harness::start_with(|c| {
        c.watch_paths = watch.iter().map(|p| p.to_string()).collect();
    })?;
    let live = agent.handle.subscribe();
    Some((
        agent,
        Alerts {
            live,
            seen: Vec::new(),
            max_lag_ns: 0,
            max_event_lag_ns: 0,
            slowest: String::new(),
            other: Vec::new(),
            marker: String::new(),
            marker_seen: false,
            execs: Default::default(),
        },
    ))
}

#[test]
fn event_generator_actions_are_detected() {
    let _one_at_a_time = serial();
    let tsv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/security/event-generator/shell-equivalents.tsv");
    if !tsv.exists() {
        eprintln!("SKIP: {} is missing", tsv.display());
        return;
    }
    let Some((_agent, mut alerts)) = start() else {
        return;
    };
    let mut actions = vec![("calibration (no-op)".to_string(), "true".to_string())];
    actions.extend(event_generator_actions(&tsv));
    let Some(roots) = run_actions(&actions, &mut alerts) else {
        return;
    };
    let results = alerts_per_action(&mut alerts, &roots, SETTLE);
    let status = _agent.handle.status();
    eprintln!(
        "agent losses during the run: lost_total={} kernel_lost={:?}",
        status.lost_total, status.pipeline.kernel_lost
    );
    let (calibration, results) = results.split_first().unwrap();
    assert!(
        calibration.1.is_empty(),
        "the namespace setup alone raised {:?}",
        calibration.1
    );
    let detected: Vec<_> = results.iter().filter(|(_, r)| !r.is_empty()).collect();
    for (name, rules) in results {
        eprintln!(
            "{:55} {}",
            name,
            if rules.is_empty() {
                "MISSED".to_string()
            } else {
                rules.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        );
    }
    let missed: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_empty())
        .map(|(n, _)| n.as_str())
        .collect();
    eprintln!(
        "detected {}/{} event-generator actions; undetected: {}",
        detected.len(),
        results.len(),
        missed.join(", ")
    );
    assert!(
        detected.len() >= EVENT_GENERATOR_MIN_DETECTED,
        "detected {} < {EVENT_GENERATOR_MIN_DETECTED}",
        detected.len()
    );
}

/// `$body` run inside a cgroup named as Docker names a container's
/// (`docker-<64 hex>.scope` below the cgroup2 root), so its processes belong
/// to a container; the shell leaves and removes it after.
macro_rules! in_container {
    ($body:literal) => {
        concat!(
            "R=$(awk '$3 == \"cgroup2\" { print $2; exit }' /proc/mounts); ",
            "C=$R/docker-$(printf '%064d' $$).scope; mkdir $C && echo $$ > $C/cgroup.procs && { ",
            $body,
            "; }; echo $$ > $R/cgroup.procs; rmdir $C"
        )
    };
}

/// Mounts a devpts instance of the namespace's own: the overlay on /dev hides
/// the host's /dev/pts, and `script` needs a terminal.
macro_rules! own_terminal {
    () => {
        "mkdir -p /dev/pts && mount -t devpts -o newinstance,ptmxmode=0666 sonde-eg /dev/pts && ln -sf pts/ptmx /dev/ptmx; "
    };
}

/// One action per default rule that today's events can trigger (not: a
/// real kernel module load, and the memfd rule, off by default).
const PER_RULE: &[(&str, &str)] = &[
    // `; true`: bash -c runs a lone command by exec, without a fork.
    ("Shell spawned by a server process", "ln -sf /bin/bash /tmp/eg/nginx; /tmp/eg/nginx -c 'sh -c true; true'"),
    ("Database server spawned a process", "ln -sf /bin/bash /tmp/eg/postgres; /tmp/eg/postgres -c '/bin/true; true'"),
    ("Execution from a temporary directory", "cp /bin/true /tmp/eg/t && /tmp/eg/t"),
    ("Fileless execution", "python3 -c 'import os;fd=os.memfd_create(\"x\");os.write(fd,open(\"/bin/true\",\"rb\").read());os.execv(\"/proc/self/fd/%d\"%fd,[\"x\"])'"),
    ("Interpreter one-liner with suspicious code", "python3 -c 'import socket;socket.socket().close()'"),
    ("User management binary run", "ln -sf /bin/true /tmp/eg/useradd; /tmp/eg/useradd"),
    ("System file modified from the command line", "touch /etc/sonde-rule-test"),
    ("Sensitive file named on a command line", "cat /etc/shadow >/dev/null"),
    ("Symlink to a sensitive location", "ln -s /etc /tmp/eg/etc-link"),
    ("SSH keys or host information read", "mkdir -p /root/.ssh && touch /root/.ssh/id_test && cat /root/.ssh/id_test"),
    ("Search for private keys or passwords", "find /tmp -maxdepth 1 -name id_rsa"),
    ("Process environment read", "cat /proc/self/environ >/dev/null"),
    ("Shell configuration file read", "cat /root/.bashrc >/dev/null 2>&1; true"),
    ("Shell history deleted", "touch /root/.bash_history && rm /root/.bash_history"),
    ("Bulk data removal", "echo x > /tmp/eg/f && shred -u /tmp/eg/f"),
    ("Setuid bit set from the command line", "touch /tmp/eg/s && chmod u+s /tmp/eg/s"),
    ("Executable bit set in a temporary directory", "touch /tmp/eg/x && chmod +x /tmp/eg/x"),
    ("Privilege change tool", "setpriv --reuid=nobody true"),
    ("Process tracer launched", "strace -o /dev/null true"),
    ("Namespace tool used", "nsenter -t 1 -u true"),
    ("Filesystem debugger launched", "debugfs -V"),
    ("Remount from the command line", "mount -o remount,ro /nonexistent 2>/dev/null; true"),
    ("Remote file copy tool launched", "wget -V >/dev/null"),
    ("Payload decoded", "echo aGk= | base64 -d >/dev/null"),
    ("Crypto miner command line", "ln -sf /bin/true /tmp/eg/xmrig; /tmp/eg/xmrig -o stratum+tcp://127.0.0.1:3333"),
    ("Shell made a network connection", "bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>/dev/null; true"),
    ("System binary made a network connection", "ln -sf /bin/bash /tmp/eg/md5sum; /tmp/eg/md5sum -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>/dev/null; true"),
    ("Unexpected outbound from a database", "ln -sf /bin/bash /tmp/eg/mysqld; /tmp/eg/mysqld -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>/dev/null; true"),
    // A shell on both ends of a loopback TCP connection the action itself listens on.
    ("Reverse shell", "python3 -c 'import socket,subprocess;l=socket.create_server((\"127.0.0.1\",0));c=socket.create_connection(l.getsockname());s,_=l.accept();subprocess.run([\"/bin/sh\",\"-c\",\"true; true\"],stdin=c,stdout=c)'"),
    // Listening sockets: python3 under nc's name listens and closes at once.
    ("Shell or relay tool listening", "ln -sf /usr/bin/python3 /tmp/eg/nc; /tmp/eg/nc -c 'import socket;s=socket.socket();s.bind((\"127.0.0.1\",0));s.listen();s.close()'"),
    ("Interpreter one-liner listening", "/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind((\"127.0.0.1\",0));s.listen();s.close()'"),
    ("Suspicious network tool launched", "nmap -V >/dev/null"),
    ("Netcat remote code execution", "nc -w1 -e /bin/true 127.0.0.1 9 2>/dev/null; true"),
    ("Cron jobs scheduled or listed", "crontab -l 2>/dev/null; true"),
    ("Crypto miner pool connection", "bash -c 'exec 3<>/dev/tcp/127.0.0.2/3333' 2>/dev/null; true"),
    ("Read cloud or SSH credentials", "mkdir -p /root/.aws && echo x > /root/.aws/credentials && cat /root/.aws/credentials >/dev/null"),
    ("Shell configuration modified", "echo '# sonde' >> /root/.bashrc"),
    ("Setuid to root by non-root", "setpriv --reuid=nobody --inh-caps=+setuid --ambient-caps=+setuid python3 -c 'import os;os.setuid(0)'"),
    ("Kernel module tool run", "ln -sf /bin/true /tmp/eg/modprobe; /tmp/eg/modprobe"),
    // A socket filter of two instructions (r0 = 0; exit), loaded with bpf(BPF_PROG_LOAD).
    ("BPF program load", "python3 -c 'import ctypes,struct;l=ctypes.CDLL(None);i=ctypes.create_string_buffer(struct.pack(\"<BBhiBBhi\",0xb7,0,0,0,0x95,0,0,0));g=ctypes.create_string_buffer(b\"GPL\");a=ctypes.create_string_buffer(struct.pack(\"<IIQQIIQI\",1,2,ctypes.addressof(i),ctypes.addressof(g),0,0,0,0)+bytes(96));l.syscall(321,5,a,len(a.raw))'"),
    ("Shell in a container", concat!(
        own_terminal!(),
        in_container!("script -qc 'sh -c true' /dev/null >/dev/null")
    )),
    ("System user interactive", concat!(
        own_terminal!(),
        "script -qc 'setpriv --reuid=daemon --regid=daemon --clear-groups sh -c true' /dev/null >/dev/null"
    )),
    ("Su or login to a system account", "su -s /bin/true nobody"),
    ("Package manager in a container", in_container!("ln -sf /bin/true /tmp/eg/apt-get; /tmp/eg/apt-get")),
    ("Mount from a container", in_container!("mount -t tmpfs sonde-eg /mnt")),
    // Time windows.
    ("Shell from a server process connected out", "ln -sf /bin/bash /tmp/eg/nginx; /tmp/eg/nginx -c 'bash -c \"exec 3<>/dev/tcp/127.0.0.1/9\" 2>/dev/null; true'"),
    ("Credentials read then connected out", "python3 -c 'open(\"/etc/shadow\").read();import socket;socket.socket().connect_ex((\"127.0.0.1\",9))'"),
    // File and privilege events.
    ("Read sensitive file", "cat /etc/shadow >/dev/null"),
    ("Write below binary dir", "touch /usr/bin/sonde-rule-test"),
    ("Write below library dir", "touch /usr/lib/sonde-rule-test"),
    ("Write below etc", "echo x > /etc/sonde-rule-test"),
    ("Write ld.so.preload", "echo > /etc/ld.so.preload"),
    ("Setuid bit set", "touch /tmp/eg/s && chmod u+s /tmp/eg/s"),
    ("Capabilities raised by a non-root user", "setpriv --reuid=nobody --inh-caps=+sys_admin --ambient-caps=+sys_admin true"),
    ("Ptrace attach", "sleep 5 & p=$!; strace -p $p -o /dev/null & s=$!; sleep 1; kill $s $p"),
    ("Clear log or history", ": > /var/log/syslog"),
    ("Crontab or systemd persistence", "echo '* * * * * true' > /etc/cron.d/sonde-rule-test"),
    ("New SSH authorized key", "mkdir -p /root/.ssh && echo 'ssh-rsa AAAA test' >> /root/.ssh/authorized_keys"),
    ("Container escape through release_agent", "echo x > /tmp/eg/release_agent"),
];

/// What the per-rule actions touch: only these are watched, so that on a
/// busy host the test's agent is not flooded with every library open.
const PER_RULE_WATCH: &[&str] = &[
    "/etc/shadow",
    "/etc/sonde-rule-test",
    "/etc/ld.so.preload",
    "/etc/cron.d",
    "/usr/bin/sonde-rule-test",
    "/usr/lib/sonde-rule-test",
    "/root/.ssh",
    "/root/.aws",
    "/root/.bashrc",
    "/tmp/eg",
    "/var/log/syslog",
    MARKER_DIR,
];

#[test]
fn each_default_rule_fires_on_its_action() {
    let _one_at_a_time = serial();
    let Some((_agent, mut alerts)) = start_watching(PER_RULE_WATCH) else {
        return;
    };
    let actions: Vec<(String, String)> = PER_RULE
        .iter()
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .collect();
    let Some(roots) = run_actions(&actions, &mut alerts) else {
        return;
    };
    let results = alerts_per_action(&mut alerts, &roots, SETTLE);
    eprintln!("detect: {:?}", _agent.handle.stats().detect.snapshot());
    let mut failed = BTreeMap::new();
    for (rule, fired) in &results {
        let ok = fired.contains(rule);
        eprintln!("{:50} {}", rule, if ok { "fired" } else { "DID NOT FIRE" });
        if !ok {
            failed.insert(rule.clone(), fired.clone());
            let root = roots.iter().find(|(n, _)| n == rule).map_or(0, |r| r.1);
            for e in alerts.other.iter() {
                match &**e {
                    Event::File(f)
                        if f.process.comm != "sh"
                            && !f.path.starts_with("/usr/lib")
                            && !f.path.starts_with("/lib")
                            && !f.path.starts_with("/etc/ld.so")
                            && f.ancestors.iter().any(|a| a.pid == root) =>
                    {
                        eprintln!(
                            "    saw file {} {:?} {} flags={:?} mode={:?} res={}",
                            f.process.comm, f.operation, f.path, f.flag_names, f.mode, f.result
                        )
                    }
                    Event::File(f)
                        if [
                            "/etc/shadow",
                            "/usr/bin/sonde-rule-test",
                            "/usr/lib/sonde-rule-test",
                            "/tmp/eg/s",
                        ]
                        .contains(&f.path.as_str()) =>
                    {
                        eprintln!(
                            "    saw file {} pid={} {:?} {} flags={:?} mode={:?} res={} anc={:?}",
                            f.process.comm,
                            f.process.pid,
                            f.operation,
                            f.path,
                            f.flag_names,
                            f.mode,
                            f.result,
                            f.ancestors.iter().map(|a| a.pid).collect::<Vec<_>>()
                        )
                    }
                    _ => {}
                }
            }
        }
    }
    eprintln!(
        "{}/{} default rules fired on their action",
        results.len() - failed.len(),
        results.len()
    );
    assert!(
        failed.is_empty(),
        "rules that did not fire (and what did): {failed:#?}"
    );
}

const C_PROJECT: &[(&str, &str)] = &[
    ("main.c", "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"%d\\n\", add(2, 3)); return 0; }\n"),
    ("util.h", "int add(int a, int b);\n"),
    ("util.c", "#include \"util.h\"\nint add(int a, int b) { return a + b; }\n"),
    ("Makefile", "prog: main.o util.o\n\tcc -O2 -o prog main.o util.o\n%.o: %.c util.h\n\tcc -O2 -Wall -c $<\nclean:\n\trm -f prog *.o\n"),
];

#[test]
fn a_benign_workload_raises_no_alert() {
    let _one_at_a_time = serial();
    let Some((_agent, mut alerts)) = start() else {
        return;
    };
    let dir = scratch().join("benign");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    for (name, text) in C_PROJECT {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("www/index.html"), "hello\n").unwrap();
    let port = crate::servers::free_port();
    let script = format!(
        r#"
set -e
cd {dir}
make -s clean >/dev/null; make -s -j2; ./prog >/dev/null
make -s clean; make -s; ./prog >/dev/null
(cd www && exec python3 -m http.server {port} --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:{port}/ && break; sleep 0.1; done
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:{port}/index.html; done
kill $server; wait $server 2>/dev/null || true
ls -la / >/dev/null; echo hello | grep -q hell; cat /etc/hostname >/dev/null
mkdir -p work/a && cp /etc/hostname work/a/ && sort work/a/hostname | uniq -c >/dev/null && rm -r work
ps aux >/dev/null; date >/dev/null; uname -a >/dev/null; id >/dev/null
find /usr/share -maxdepth 1 -name 'doc*' >/dev/null; tar -cf x.tar Makefile && tar -tf x.tar >/dev/null && rm x.tar
"#,
        dir = dir.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let root = child.id();
    let status = loop {
        alerts.drain();
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the benign workload failed: {status}");
    settle_after(&mut alerts, SETTLE);
    let below: Vec<&Alert> = alerts
        .seen
        .iter()
        .filter(|a| alerts.below(a, root))
        .collect();
    for a in &below {
        eprintln!("false positive: {} {}", a.rule, a.output);
    }
    eprintln!("benign workload: {} false positives", below.len());
    assert_eq!(below.len(), 0);
}

/// A rule with `action: kill` becomes a kill-at-exec policy: the binary it
/// pins never runs (its exit is SIGKILL), and the rule still alerts.
#[test]
fn a_kill_action_rule_is_enforced() {
    let _one_at_a_time = serial();
    let dir = scratch().join("kill-action");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("kill.yaml");
    std::fs::write(
        &rules,
        "- rule: Kill the test binary\n  condition: evt.type = execve and proc.name = sonde-kill-me\n  output: \"killed (%proc.exepath)\"\n  priority: CRITICAL\n  action: kill\n",
    )
    .unwrap();
    let victim = dir.join("sonde-kill-me");
    std::fs::copy("/bin/true", &victim).unwrap();
    let Some(agent) = harness::start_with(|c| c.rules.files = vec![rules.clone()]) else {
        return;
    };
    if agent.handle.enforcer().is_none() {
        eprintln!("SKIP: the enforcement programs did not load on this kernel");
        return;
    }
    let status = Command::new(&victim).status().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status}");
    eprintln!("rule action kill: {} exited by SIGKILL", victim.display());
}
