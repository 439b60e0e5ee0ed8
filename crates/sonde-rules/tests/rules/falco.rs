//! Falco-style rules from issue 7's default list, matched against crafted events.
//! `RULES` (25 rules, `falco-style.yaml`) is also what `benches/engine.rs` runs.

use std::sync::Arc;

use sonde_rules::{load_str, Engine, Priority, RuleSet};

use crate::event::Ev;

pub const RULES: &str = include_str!("falco-style.yaml");

pub fn rules() -> RuleSet {
    load_str("default.yaml", RULES).unwrap_or_else(|e| panic!("{e}"))
}

fn fired(set: &RuleSet, ev: &Ev) -> Vec<String> {
    set.matches(ev).into_iter().map(|a| a.rule).collect()
}

fn exec(name: &str, parent: &str) -> Ev {
    Ev::new("execve")
        .n("evt.res", 0)
        .proc(name, &format!("/bin/{name}"), "-i")
        .s("proc.pname", parent)
        .ancestors(&[parent, "systemd"])
        .s("container.id", "host")
        .n("proc.tty", 0)
        .s("user.name", "www-data")
}

fn open(path: &str, proc_name: &str, write: bool) -> Ev {
    Ev::new("openat")
        .n("evt.res", 3)
        .file(path)
        .b("evt.is_open_read", !write)
        .b("evt.is_open_write", write)
        .l(
            "evt.arg.flags",
            if write {
                &["O_WRONLY", "O_CREAT"]
            } else {
                &["O_RDONLY"]
            },
        )
        .s("proc.name", proc_name)
        .s("proc.pname", "bash")
        .ancestors(&["bash", "sshd"])
}

#[test]
fn the_default_style_rules_load() {
    let set = rules();
    assert_eq!(set.rules().len(), 25);
}

#[test]
fn shell_spawned_by_server_process() {
    let set = rules();
    let alerts = set.matches(&exec("sh", "nginx"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, "Shell spawned by a server process");
    assert_eq!(alerts[0].priority, Priority::Warning);
    assert_eq!(
        alerts[0].output,
        "Shell spawned by server (user=www-data shell=sh parent=nginx cmdline=sh -i gparent=systemd)"
    );
    assert!(fired(&set, &exec("sh", "sshd")).is_empty());
    assert!(fired(&set, &exec("ls", "nginx")).is_empty());
}

#[test]
fn shell_in_container_and_package_manager() {
    let set = rules();
    let ev = exec("bash", "runc")
        .s("container.id", "3f2a9c")
        .n("proc.tty", 34816);
    assert_eq!(fired(&set, &ev), vec!["Shell in a container"]);
    let ev = exec("apt-get", "bash").s("container.id", "3f2a9c");
    assert_eq!(fired(&set, &ev), vec!["Package manager in a container"]);
}

#[test]
fn sensitive_file_read() {
    let set = rules();
    assert_eq!(
        fired(&set, &open("/etc/shadow", "cat", false)),
        vec!["Read sensitive file"]
    );
    assert!(fired(&set, &open("/etc/shadow", "sshd", false)).is_empty());
    assert!(fired(&set, &open("/etc/passwd", "cat", false)).is_empty());
    assert_eq!(
        fired(&set, &open("/home/alice/.ssh/id_ed25519", "python3", false)),
        vec!["Read cloud or SSH credentials"]
    );
    assert_eq!(
        fired(&set, &open("/root/.aws/credentials", "python3", false)),
        vec!["Read cloud or SSH credentials"]
    );
    // A failed open does not count.
    assert!(fired(&set, &open("/etc/shadow", "cat", false).n("evt.res", -13)).is_empty());
}

#[test]
fn write_below_binary_and_library_dirs() {
    let set = rules();
    assert_eq!(
        fired(&set, &open("/usr/bin/ls", "curl", true)),
        vec!["Write below binary dir"]
    );
    assert!(fired(&set, &open("/usr/bin/ls", "dpkg", true)).is_empty());
    // A package manager ancestor is trusted too.
    let ev = open("/usr/bin/ls", "cp", true).ancestors(&["sh", "dpkg"]);
    assert!(fired(&set, &ev).is_empty());
    assert!(fired(&set, &open("/usr/bin/ls", "curl", false)).is_empty());
    assert_eq!(
        fired(
            &set,
            &open("/usr/lib/x86_64-linux-gnu/libevil.so", "curl", true)
        ),
        vec!["Write below library dir"]
    );
    assert_eq!(
        fired(&set, &open("/etc/ld.so.preload", "echo", true)),
        vec!["Write ld.so.preload"]
    );
}

#[test]
fn more_default_rules() {
    let set = rules();
    let ev = exec("x", "bash").s("proc.exepath", "/dev/shm/x");
    assert_eq!(fired(&set, &ev), vec!["Execution from tmp"]);
    let ev = exec("x", "bash")
        .s("proc.exepath", "memfd:x")
        .b("proc.is_exe_from_memfd", true);
    assert_eq!(fired(&set, &ev), vec!["Fileless execution from memfd"]);
    let ev = Ev::new("chmod")
        .n("evt.res", 0)
        .n("evt.arg.mode", 0o4755)
        .file("/tmp/x")
        .s("proc.name", "chmod");
    assert_eq!(fired(&set, &ev), vec!["Setuid bit set"]);
    let ev = Ev::new("ptrace")
        .s("evt.arg.request", "PTRACE_ATTACH")
        .n("evt.arg.pid", 1)
        .s("proc.name", "evil");
    assert_eq!(fired(&set, &ev), vec!["Ptrace attach"]);
    let ev = exec("bash", "python3")
        .s("proc.stdin.type", "socket")
        .s("proc.stdout.type", "socket");
    assert_eq!(fired(&set, &ev), vec!["Reverse shell"]);
    let ev = Ev::new("connect")
        .s("proc.name", "xmrig")
        .n("fd.dport", 3333)
        .s("fd.dip", "203.0.113.9");
    assert_eq!(fired(&set, &ev), vec!["Crypto miner pool connection"]);
    let ev = exec("xmrig", "bash").s("proc.cmdline", "xmrig -o STRATUM+TCP://pool:80");
    assert_eq!(fired(&set, &ev), vec!["Crypto miner pool connection"]);
    let ev = Ev::new("connect")
        .s("proc.name", "postgres")
        .n("fd.dport", 80)
        .s("fd.dip", "203.0.113.9");
    assert_eq!(
        fired(&set, &ev),
        vec!["Unexpected outbound from a database"]
    );
    let ev = Ev::new("unlinkat")
        .file("/root/.bash_history")
        .s("proc.name", "rm");
    assert_eq!(fired(&set, &ev), vec!["Clear log or history"]);
    assert_eq!(
        fired(&set, &open("/etc/cron.d/evil", "bash", true)),
        vec!["Crontab or systemd persistence"]
    );
    assert_eq!(
        fired(&set, &open("/root/.ssh/authorized_keys", "bash", true)),
        vec!["New SSH authorized key"]
    );
    let ev = Ev::new("finit_module")
        .n("evt.res", 0)
        .s("evt.arg.name", "rootkit")
        .s("proc.name", "insmod");
    assert_eq!(fired(&set, &ev), vec!["Kernel module load"]);
    let ev = Ev::new("unshare")
        .l("evt.arg.flags", &["CLONE_NEWUSER"])
        .s("proc.name", "python3");
    assert_eq!(fired(&set, &ev), vec!["Namespace change"]);
    let ev = exec("nc", "bash").s("proc.args", "-e /bin/sh 10.0.0.1 4444");
    assert_eq!(fired(&set, &ev), vec!["Netcat remote code execution"]);
}

#[test]
fn sequence_in_the_default_style_set() {
    let mut engine = Engine::new(Arc::new(rules()));
    let shell = exec("sh", "sshd")
        .n("proc.tree_id", 77)
        .n("evt.time", 1_000);
    assert!(engine.process(&shell).is_empty());
    let conn = Ev::new("connect")
        .s("proc.name", "curl")
        .n("proc.tree_id", 77)
        .n("evt.time", 2_000_000_000)
        .s("fd.dip", "198.51.100.7")
        .n("fd.dport", 443);
    let alerts = engine.process(&conn);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].output,
        "Connect after shell (proc=curl dest=198.51.100.7:443 tree=77)"
    );
}

#[test]
fn every_default_style_rule_is_indexed_by_event_type() {
    let set = rules();
    assert!(set.candidates_for_type(Some("close")).is_empty());
    assert_eq!(set.candidates_for_type(Some("execve")).len(), 9);
}
