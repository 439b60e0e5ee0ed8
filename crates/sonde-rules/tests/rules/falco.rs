//! Falco-style rules from issue 7's default list, matched against crafted events.
//! `RULES` (25 rules) is also what the throughput test runs.

use std::sync::Arc;

use sonde_rules::{load_str, Engine, Priority, RuleSet};

use crate::event::Ev;

pub const RULES: &str = r#"
- required_engine_version: 0.31.0

- list: shell_binaries
  items: [ash, bash, csh, ksh, sh, tcsh, zsh, dash, fish]
- list: server_binaries
  items: [nginx, httpd, apache2, lighttpd, caddy, node, php-fpm, gunicorn, uwsgi, java]
- list: db_server_binaries
  items: [mysqld, postgres, mongod, redis-server, memcached]
- list: package_mgmt_binaries
  items: [apt, apt-get, dpkg, yum, dnf, rpm, apk, pip, pip3, npm]
- list: bin_dirs
  items: [/bin, /sbin, /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin]
- list: lib_dirs
  items: [/lib, /lib64, /usr/lib, /usr/lib64, /usr/local/lib]
- list: sensitive_file_names
  items: [/etc/shadow, /etc/gshadow, /etc/sudoers, /etc/pam.conf, /etc/security/opasswd]
- list: credential_dirs
  items: [/root/.ssh, /root/.aws, /root/.config/gcloud, /root/.azure, /root/.kube]
- list: miner_ports
  items: [3333, 4444, 5555, 7777, 14433, 14444, 45560]
- list: log_history_files
  items: [/var/log/auth.log, /var/log/secure, /var/log/syslog, /var/log/messages, /var/log/wtmp, /var/log/btmp, /var/log/lastlog]

- macro: spawned_process
  condition: evt.type = execve and evt.res = 0
- macro: open_read
  condition: evt.type in (open, openat, openat2) and evt.is_open_read = true and evt.res >= 0
- macro: open_write
  condition: evt.type in (open, openat, openat2) and evt.is_open_write = true and evt.res >= 0
- macro: container
  condition: container.id != host
- macro: shell_procs
  condition: proc.name in (shell_binaries)
- macro: trusted_writers
  condition: proc.name in (package_mgmt_binaries) or proc.aname in (package_mgmt_binaries)

- rule: Shell spawned by a server process
  desc: a shell whose parent is a web or application server
  condition: spawned_process and shell_procs and proc.pname in (server_binaries)
  output: "Shell spawned by server (user=%user.name shell=%proc.name parent=%proc.pname cmdline=%proc.cmdline gparent=%proc.aname[2])"
  priority: WARNING
  tags: [shell, mitre_execution]

- rule: Shell in a container
  desc: an interactive shell started inside a container
  condition: spawned_process and container and shell_procs and proc.tty != 0
  output: "Shell in container (container=%container.id shell=%proc.name parent=%proc.pname)"
  priority: NOTICE
  tags: [container, shell]

- rule: Read sensitive file
  desc: a read of password, shadow or sudoers files by a non-trusted program
  condition: open_read and fd.name in (sensitive_file_names) and not proc.name in (sshd, sudo, su, login, passwd, unix_chkpwd)
  output: "Sensitive file opened for reading (file=%fd.name proc=%proc.name cmdline=%proc.cmdline)"
  priority: WARNING
  tags: [filesystem, mitre_credential_access]

- rule: Read cloud or SSH credentials
  desc: credential files under home directories
  condition: open_read and (fd.directory pmatch (credential_dirs) or fd.name glob "/home/*/.ssh/id_*" or fd.name glob "/home/*/.aws/credentials")
  output: "Credential file read (file=%fd.name proc=%proc.name)"
  priority: WARNING
  tags: [filesystem, mitre_credential_access]

- rule: Write below binary dir
  desc: a write to a binary directory by something other than a package manager
  condition: open_write and fd.directory in (bin_dirs) and not trusted_writers
  output: "File below a binary directory opened for writing (file=%fd.name proc=%proc.name parent=%proc.pname)"
  priority: ERROR
  tags: [filesystem, mitre_persistence]

- rule: Write below library dir
  desc: a write to a library directory by something other than a package manager
  condition: open_write and fd.directory pmatch (lib_dirs) and not trusted_writers
  output: "File below a library directory opened for writing (file=%fd.name proc=%proc.name)"
  priority: ERROR
  tags: [filesystem, mitre_persistence]

- rule: Write ld.so.preload
  desc: any write to the dynamic loader preload list
  condition: open_write and fd.name = /etc/ld.so.preload
  output: "ld.so.preload written (proc=%proc.name cmdline=%proc.cmdline)"
  priority: CRITICAL
  tags: [filesystem, mitre_defense_evasion]

- rule: Execution from tmp
  desc: a program executed from /tmp, /var/tmp or /dev/shm
  condition: spawned_process and proc.exepath pmatch (/tmp, /var/tmp, /dev/shm)
  output: "Executable run from a temporary directory (exe=%proc.exepath parent=%proc.pname)"
  priority: WARNING
  tags: [process, mitre_execution]

- rule: Fileless execution from memfd
  desc: a program executed from a memfd
  condition: spawned_process and proc.is_exe_from_memfd = true
  output: "Fileless execution (exe=%proc.exepath parent=%proc.pname)"
  priority: CRITICAL
  tags: [process, mitre_defense_evasion]

- rule: Setuid bit set
  desc: chmod adding the setuid or setgid bit
  condition: evt.type in (chmod, fchmod, fchmodat) and evt.res = 0 and evt.arg.mode >= 2048 and evt.arg.mode < 4096
  output: "setuid/setgid bit set (file=%fd.name mode=%evt.arg.mode proc=%proc.name)"
  priority: WARNING
  tags: [filesystem, mitre_privilege_escalation]

- rule: Setuid to root by non-root
  desc: a non-root process becoming root
  condition: evt.type in (setuid, setresuid, setreuid) and evt.arg.uid = 0 and user.uid != 0 and evt.res = 0 and not proc.name in (sudo, su)
  output: "Process became root (proc=%proc.name uid=%user.uid)"
  priority: CRITICAL
  tags: [process, mitre_privilege_escalation]

- rule: Ptrace attach
  desc: a process attaching to another with ptrace
  condition: evt.type = ptrace and evt.arg.request in (PTRACE_ATTACH, PTRACE_SEIZE, PTRACE_POKETEXT, PTRACE_POKEDATA) and not proc.name in (gdb, strace, ltrace)
  output: "ptrace attach (proc=%proc.name target=%evt.arg.pid request=%evt.arg.request)"
  priority: WARNING
  tags: [process, mitre_privilege_escalation]

- rule: Reverse shell
  desc: a shell whose stdin and stdout are sockets
  condition: spawned_process and shell_procs and proc.stdin.type = socket and proc.stdout.type = socket
  output: "Reverse shell (shell=%proc.name parent=%proc.pname)"
  priority: CRITICAL
  tags: [network, mitre_execution]

- rule: Crypto miner pool connection
  desc: a connection to a common mining pool port or a stratum URL in the command line
  condition: (evt.type = connect and fd.dport in (miner_ports)) or (spawned_process and proc.cmdline icontains "stratum+tcp")
  output: "Possible crypto miner (proc=%proc.name dest=%fd.dip:%fd.dport cmdline=%proc.cmdline)"
  priority: CRITICAL
  tags: [network, mitre_impact]

- rule: Unexpected outbound from a database
  desc: a database server opening an outbound connection
  condition: evt.type = connect and proc.name in (db_server_binaries) and not fd.dport in (53, 5432, 3306, 27017, 6379)
  output: "Database made an outbound connection (proc=%proc.name dest=%fd.dip:%fd.dport)"
  priority: WARNING
  tags: [network, mitre_exfiltration]

- rule: Package manager in a container
  desc: a package manager run inside a running container
  condition: spawned_process and container and proc.name in (package_mgmt_binaries)
  output: "Package manager in container (container=%container.id cmdline=%proc.cmdline)"
  priority: NOTICE
  tags: [container, mitre_persistence]

- rule: Clear log or history
  desc: truncating or deleting logs or shell history
  condition: ((open_write and evt.arg.flags contains O_TRUNC) or evt.type in (unlink, unlinkat)) and (fd.name in (log_history_files) or fd.filename in (.bash_history, .zsh_history, .ash_history))
  output: "Log or history cleared (file=%fd.name proc=%proc.name)"
  priority: WARNING
  tags: [filesystem, mitre_defense_evasion]

- rule: Crontab or systemd persistence
  desc: writes to cron or systemd unit directories
  condition: open_write and (fd.name startswith /etc/cron or fd.directory pmatch (/var/spool/cron, /etc/systemd/system, /usr/lib/systemd/system)) and not trusted_writers
  output: "Persistence file written (file=%fd.name proc=%proc.name)"
  priority: WARNING
  tags: [filesystem, mitre_persistence]

- rule: New SSH authorized key
  desc: writes to authorized_keys
  condition: open_write and fd.filename in (authorized_keys, authorized_keys2)
  output: "authorized_keys written (file=%fd.name proc=%proc.name)"
  priority: WARNING
  tags: [filesystem, mitre_persistence]

- rule: Kernel module load
  desc: a kernel module loaded
  condition: evt.type in (init_module, finit_module) and evt.res = 0
  output: "Kernel module loaded (module=%evt.arg.name proc=%proc.name)"
  priority: NOTICE
  tags: [kernel, mitre_persistence]

- rule: BPF program load
  desc: a BPF program loaded by a process that is not a known BPF user
  condition: evt.type = bpf and not proc.name in (sonde, bpftool, systemd)
  output: "BPF program loaded (name=%evt.arg.name proc=%proc.name)"
  priority: NOTICE
  tags: [kernel]

- rule: Mount from a container
  desc: a mount system call inside a container
  condition: evt.type = mount and container and evt.res = 0
  output: "Mount in container (source=%evt.arg.source target=%evt.arg.target fstype=%evt.arg.fstype)"
  priority: WARNING
  tags: [container, mitre_privilege_escalation]

- rule: Namespace change
  desc: setns or unshare of a mount or user namespace outside known tools
  condition: evt.type in (setns, unshare) and evt.arg.flags intersects (CLONE_NEWNS, CLONE_NEWUSER) and not proc.name in (runc, containerd-shim, unshare, systemd)
  output: "Namespace change (proc=%proc.name flags=%evt.arg.flags)"
  priority: NOTICE
  tags: [process, mitre_privilege_escalation]

- rule: Netcat remote code execution
  desc: nc with -e
  condition: spawned_process and proc.name in (nc, ncat, netcat) and (proc.args contains "-e" or proc.args contains "-c")
  output: "Netcat with exec (cmdline=%proc.cmdline)"
  priority: WARNING
  tags: [network, mitre_execution]

- rule: Connect soon after a shell
  desc: an outbound connect within 5 s of a shell exec in the same process tree
  by: proc.tree_id
  sequence:
    - condition: spawned_process and shell_procs
    - condition: evt.type = connect and not fd.dip startswith 127.
      within: 5s
  output: "Connect after shell (proc=%proc.name dest=%fd.dip:%fd.dport tree=%proc.tree_id)"
  priority: WARNING
  tags: [network, mitre_command_and_control]
"#;

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
