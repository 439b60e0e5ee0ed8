//! Operators, lists, macros inside macros, ancestors, output, the evt.type pre-filter.

use std::sync::Arc;

use sonde_rules::{load_str, Engine, RuleSet};

use crate::event::Ev;

/// Loads one rule with `condition` plus shared lists/macros.
fn rule(prelude: &str, condition: &str) -> RuleSet {
    let y = format!(
        "{prelude}- rule: r\n  desc: test\n  condition: '{}'\n  output: \"hit %proc.name\"\n  priority: WARNING\n",
        condition.replace('\'', "''")
    );
    load_str("t.yaml", &y).unwrap_or_else(|e| panic!("{e}\n{y}"))
}

fn hit(set: &RuleSet, ev: &Ev) -> bool {
    !set.matches(ev).is_empty()
}

fn check(condition: &str, yes: &[Ev], no: &[Ev]) {
    let set = rule(PRELUDE, condition);
    for e in yes {
        assert!(hit(&set, e), "`{condition}` should match {e:?}");
    }
    for e in no {
        assert!(!hit(&set, e), "`{condition}` should not match {e:?}");
    }
}

const PRELUDE: &str = "
- list: shell_binaries
  items: [sh, bash, zsh]
- list: more_shells
  items: [shell_binaries, fish]
- list: bin_dirs
  items: [/bin, /sbin, /usr/bin, /usr/sbin]
- list: ssh_ports
  items: [22, 2222]
- macro: spawned_process
  condition: evt.type = execve
- macro: shell_procs
  condition: proc.name in (more_shells)
- macro: spawned_shell
  condition: spawned_process and shell_procs
";

fn p(name: &str) -> Ev {
    Ev::new("execve").s("proc.name", name)
}

#[test]
fn string_comparisons() {
    check(
        "proc.name = sh",
        &[p("sh")],
        &[p("bash"), Ev::new("execve")],
    );
    check("proc.name == \"sh\"", &[p("sh")], &[p("bash")]);
    check(
        "proc.name != sh",
        &[p("bash")],
        &[p("sh"), Ev::new("execve")],
    );
    check("proc.name contains as", &[p("bash")], &[p("sh")]);
    check("proc.name icontains AS", &[p("bASh")], &[p("sh")]);
    check("proc.name startswith ba", &[p("bash")], &[p("sh")]);
    check("proc.name endswith sh", &[p("bash"), p("sh")], &[p("bas")]);
    check(
        "fd.name glob /usr/*/lib?.so*",
        &[Ev::new("open").file("/usr/lib64/liba.so.1")],
        &[Ev::new("open").file("/usr/lib64/libab.so")],
    );
    check(
        "fd.name glob \"/etc/[!p]*\"",
        &[Ev::new("open").file("/etc/shadow")],
        &[Ev::new("open").file("/etc/passwd")],
    );
}

#[test]
fn numbers_and_bools() {
    let pid = |n| Ev::new("execve").n("proc.pid", n);
    check("proc.pid = 42", &[pid(42)], &[pid(41)]);
    check("proc.pid != 42", &[pid(41)], &[pid(42)]);
    check("proc.pid < 42", &[pid(41)], &[pid(42)]);
    check("proc.pid <= 42", &[pid(42)], &[pid(43)]);
    check("proc.pid > 0x10", &[pid(17)], &[pid(16)]);
    check("proc.pid >= -1", &[pid(-1)], &[pid(-2)]);
    check("proc.pid in (1, 2, 42)", &[pid(42)], &[pid(3)]);
    check(
        "fd.dport in (ssh_ports)",
        &[Ev::new("connect").n("fd.dport", 2222)],
        &[Ev::new("connect").n("fd.dport", 80)],
    );
    let failed = |b| Ev::new("open").b("evt.failed", b);
    check("evt.failed = true", &[failed(true)], &[failed(false)]);
    check("evt.failed != true", &[failed(false)], &[failed(true)]);
}

#[test]
fn lists_in_and_pmatch_and_intersects() {
    check(
        "proc.name in (shell_binaries)",
        &[p("zsh")],
        &[p("fish"), p("vim")],
    );
    check("proc.name in shell_binaries", &[p("zsh")], &[p("fish")]);
    // A list item naming an earlier list is expanded.
    check(
        "proc.name in (more_shells, tcsh)",
        &[p("fish"), p("sh"), p("tcsh")],
        &[p("vim")],
    );
    // A quoted item never names a list.
    check(
        "proc.name in ('shell_binaries')",
        &[p("shell_binaries")],
        &[p("sh")],
    );
    let open = |f: &str| Ev::new("open").file(f);
    check(
        "fd.directory pmatch (bin_dirs)",
        &[open("/usr/bin/x"), open("/bin/sub/x")],
        &[open("/usr/binx/y"), open("/etc/x")],
    );
    let flags = |f: &[&str]| Ev::new("open").l("evt.arg.flags", f);
    check(
        "evt.arg.flags intersects (O_WRONLY, O_RDWR)",
        &[flags(&["O_CREAT", "O_RDWR"])],
        &[flags(&["O_RDONLY"]), flags(&[])],
    );
    check(
        "evt.arg.flags contains O_CREAT",
        &[flags(&["O_CREAT"])],
        &[flags(&["O_RDONLY"])],
    );
    check(
        "evt.arg.flags in (O_RDONLY, O_CLOEXEC)",
        &[flags(&["O_RDONLY", "O_CLOEXEC"])],
        &[flags(&["O_RDONLY", "O_WRONLY"])],
    );
}

#[test]
fn exists_and_boolean_logic() {
    check(
        "fd.name exists",
        &[Ev::new("open").file("/x")],
        &[Ev::new("open")],
    );
    check(
        "not fd.name exists",
        &[Ev::new("open")],
        &[Ev::new("open").file("/x")],
    );
    check(
        "(proc.name = a or proc.name = b) and not proc.pid = 1",
        &[p("a").n("proc.pid", 2), p("b")],
        &[p("a").n("proc.pid", 1), p("c")],
    );
    check("not not proc.name = a", &[p("a")], &[p("b")]);
}

#[test]
fn macros_inside_macros() {
    check(
        "spawned_shell",
        &[p("bash"), p("fish")],
        &[p("vim"), Ev::new("open").s("proc.name", "sh")],
    );
    check(
        "spawned_shell and not proc.name = fish",
        &[p("sh")],
        &[p("fish")],
    );
}

#[test]
fn ancestors() {
    let ev = || p("sh").ancestors(&["bash", "nginx", "systemd"]);
    check(
        "proc.aname = nginx",
        &[ev()],
        &[p("sh").ancestors(&["bash"])],
    );
    check(
        "proc.aname[2] = nginx",
        &[ev()],
        &[p("sh").ancestors(&["nginx"])],
    );
    check(
        "proc.aname[1] in (shell_binaries)",
        &[ev()],
        &[p("sh").ancestors(&["vim"])],
    );
    check("proc.aname[3] startswith sys", &[ev()], &[p("sh")]);
    // The walk stops at the first missing ancestor.
    let gap = p("sh").s("proc.aname[2]", "nginx");
    check("proc.aname = nginx", &[], &[gap]);
    check(
        "proc.apid[1] = 10",
        &[p("sh").n("proc.apid[1]", 10)],
        &[p("sh").n("proc.apid[2]", 10)],
    );
}

#[test]
fn output_rendering() {
    let y = "- rule: r\n  condition: proc.name = sh\n  output: >\n    shell %proc.name under %proc.aname[2] (parent=%proc.aname[1] pid=%proc.pid\n    flags=%evt.arg.flags user=%user.name)\n  priority: notice\n  tags: [shell, mitre_execution]\n";
    let set = load_str("t.yaml", y).unwrap();
    let ev = p("sh")
        .ancestors(&["bash", "nginx"])
        .n("proc.pid", 7)
        .l("evt.arg.flags", &["O_RDONLY", "O_CLOEXEC"]);
    let alerts = set.matches(&ev);
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].output,
        "shell sh under nginx (parent=bash pid=7 flags=O_RDONLY,O_CLOEXEC user=<NA>)\n"
    );
    assert_eq!(alerts[0].priority, sonde_rules::Priority::Notice);
    assert_eq!(alerts[0].tags, vec!["shell", "mitre_execution"]);
}

#[test]
fn evt_type_prefilter_runs_only_rules_that_can_match() {
    let y = "
- rule: exec_rule
  condition: evt.type = execve and proc.name = sh
  output: x
  priority: INFO
- rule: open_rule
  condition: evt.type in (open, openat) and fd.name = /etc/shadow
  output: x
  priority: INFO
- rule: either
  condition: (evt.type = execve or evt.type = connect) and proc.name = sh
  output: x
  priority: INFO
- rule: any_type
  condition: proc.name = sh
  output: x
  priority: INFO
- rule: negated
  condition: not evt.type = execve and proc.name = sh
  output: x
  priority: INFO
- rule: disabled
  condition: evt.type = execve
  output: x
  priority: INFO
  enabled: false
";
    let set = load_str("t.yaml", y).unwrap();
    let names = |t: Option<&str>| -> Vec<&str> {
        set.candidates_for_type(t)
            .iter()
            .map(|&i| set.rules()[i as usize].name.as_str())
            .collect()
    };
    assert_eq!(
        names(Some("execve")),
        vec!["exec_rule", "either", "any_type", "negated"]
    );
    assert_eq!(
        names(Some("openat")),
        vec!["open_rule", "any_type", "negated"]
    );
    assert_eq!(
        names(Some("connect")),
        vec!["either", "any_type", "negated"]
    );
    assert_eq!(names(Some("unlink")), vec!["any_type", "negated"]);
    assert_eq!(names(None), vec!["any_type", "negated"]);

    let mut engine = Engine::new(Arc::new(set));
    let alerts = engine.process(&p("sh"));
    let fired: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(fired, vec!["exec_rule", "either", "any_type"]);
    assert_eq!(engine.stats().evaluations, 4);
    engine.process(&Ev::new("unlink").s("proc.name", "sh"));
    assert_eq!(engine.stats().evaluations, 6);
    assert_eq!(engine.stats().alerts, 5);
}

#[test]
fn falco_file_header_items_are_accepted() {
    let y = "- required_engine_version: 9\n- rule: r\n  condition: proc.name = sh\n  output: x\n  priority: DEBUG\n  source: syscall\n";
    assert_eq!(load_str("t.yaml", y).unwrap().rules().len(), 1);
    assert_eq!(load_str("t.yaml", "").unwrap().rules().len(), 0);
    assert_eq!(
        load_str("t.yaml", "# only a comment\n")
            .unwrap()
            .rules()
            .len(),
        0
    );
}
