//! The detection stage without a kernel: default rules, reload, canaries,
//! actions, the webhook.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use sonde_event::{AlertPriority, Event, FileOperation};

use super::fields::Users;
use super::reload::{load, RuleSources, RulesControl, RulesError};
use super::sample::{ancestor, connect, exec, file, listen, process};
use super::Detector;
use crate::stats::Stats;

fn defaults() -> RuleSources {
    RuleSources {
        builtin: true,
        ..RuleSources::default()
    }
}

fn fired(d: &mut Detector, stats: &Stats, ev: &Event) -> Vec<String> {
    d.evaluate(ev, &stats.detect)
        .into_iter()
        .map(|a| match a {
            Event::Alert(a) => a.rule,
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn the_default_rules_load_and_number_at_least_25() {
    let loaded = load(&defaults()).unwrap_or_else(|e| panic!("{e}"));
    let enabled = loaded.set.rules().iter().filter(|r| r.enabled).count();
    assert!(enabled >= 25, "{enabled} rules");
    assert!(loaded.canaries.is_empty());
    assert!(loaded.actions.is_empty());
}

#[test]
fn an_alert_embeds_its_event_and_ancestry_and_is_counted() {
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let shell = process(812, 700, "sh", "/usr/bin/sh", &["sh", "-c", "ls"]);
    let ev = exec(
        5,
        shell,
        vec![ancestor(700, "/usr/sbin/httpd"), ancestor(1, "/sbin/init")],
    );
    let alerts = d.evaluate(&ev, &stats.detect);
    let Some(Event::Alert(a)) = alerts.first() else {
        panic!("no alert: {alerts:?}");
    };
    assert_eq!(a.rule, "Shell spawned by a server process");
    assert_eq!(a.priority, AlertPriority::Warning);
    assert_eq!(a.events, vec![ev.clone()]);
    assert_eq!(a.ancestors.len(), 2);
    assert_eq!(a.process.as_ref().map(|p| p.pid), Some(812));
    assert!(a.output.contains("parent=httpd"), "{}", a.output);
    assert!(a.origin.starts_with("builtin:rules/default.yaml:"));
    let snap = stats.detect.snapshot();
    assert_eq!(snap.evaluated_events, 1);
    assert_eq!(
        snap.alerts,
        vec![(a.rule.clone(), "WARNING".to_string(), 1)]
    );
    let mut text = String::new();
    snap.write_prometheus(&mut text);
    assert!(text.contains(
        "sonde_alerts_total{rule=\"Shell spawned by a server process\",priority=\"WARNING\"} 1"
    ));
    assert!(text.contains("sonde_rules_evaluated_events_total 1"));
}

#[test]
fn network_rules_fire_on_connections() {
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let bash = process(10, 1, "bash", "/usr/bin/bash", &["bash"]);
    assert_eq!(
        fired(&mut d, &stats, &connect(1, &bash, 4444)),
        [
            "Shell made a network connection",
            "Crypto miner pool connection"
        ]
    );
    let db = process(
        11,
        1,
        "postgres",
        "/usr/lib/postgresql/bin/postgres",
        &["postgres"],
    );
    assert_eq!(
        fired(&mut d, &stats, &connect(2, &db, 8080)),
        ["Unexpected outbound from a database"]
    );
    assert!(fired(&mut d, &stats, &connect(3, &db, 5432)).is_empty());
    // A long connection: evaluated at its first interim report only.
    let mut open = connect(4, &bash, 8080);
    if let Event::TcpConnection(c) = &mut open {
        c.end = sonde_event::TcpEnd::Open;
    }
    let mut closed = open.clone();
    if let Event::TcpConnection(c) = &mut closed {
        c.end = sonde_event::TcpEnd::Closed;
    }
    assert_eq!(
        fired(&mut d, &stats, &open),
        ["Shell made a network connection"]
    );
    assert!(fired(&mut d, &stats, &open).is_empty());
    assert!(fired(&mut d, &stats, &closed).is_empty());
    assert_eq!(
        fired(&mut d, &stats, &closed),
        ["Shell made a network connection"]
    );
}

#[test]
fn a_shell_on_a_socket_is_a_reverse_shell() {
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let fd = |mode, af| sonde_event::StdioFile::new(mode, af, 0);
    let (socket, pipe, null) = (fd(0o140777, 2), fd(0o010600, 0), fd(0o020666, 0));
    let shell = |pid, stdin, stdout| {
        let mut p = process(pid, 1, "sh", "/usr/bin/sh", &["sh", "-i"]);
        p.stdio = Some(sonde_event::Stdio {
            stdin,
            stdout,
            stderr: socket,
        });
        exec(u64::from(pid), p, vec![ancestor(1, "/sbin/init")])
    };
    assert_eq!(
        fired(&mut d, &stats, &shell(20, socket, socket)),
        ["Reverse shell"]
    );
    assert!(fired(&mut d, &stats, &shell(21, socket, pipe)).is_empty());
    assert!(fired(&mut d, &stats, &shell(22, null, socket)).is_empty());
    // A Unix socket pair: how sshd runs `ssh host command`.
    let unix = fd(0o140777, 1);
    assert!(fired(&mut d, &stats, &shell(24, unix, unix)).is_empty());
    let inet6 = fd(0o140777, 10);
    assert_eq!(
        fired(&mut d, &stats, &shell(25, inet6, inet6)),
        ["Reverse shell"]
    );
    // Not known (a process sonde read from /proc, an old stored event).
    let mut unknown = process(23, 1, "sh", "/usr/bin/sh", &["sh", "-i"]);
    unknown.stdio = None;
    assert!(fired(&mut d, &stats, &exec(23, unknown, vec![])).is_empty());
}

#[test]
fn listen_rules_fire_on_bind_shells_not_on_servers() {
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let mut seen = |p: &sonde_event::Process| {
        if let Event::ProcessExec(e) = exec(1, p.clone(), vec![ancestor(1, "/sbin/init")]) {
            d.evaluate(&Event::ProcessExec(e), &stats.detect);
        }
    };
    let nc = process(30, 1, "nc", "/usr/bin/nc", &["nc", "-lp", "4444"]);
    let one_liner = process(
        31,
        1,
        "python3",
        "/usr/bin/python3",
        &[
            "python3",
            "-c",
            "import socket;s=socket.socket();s.bind(('',4444));s.listen()",
        ],
    );
    let http_server = process(
        32,
        1,
        "python3",
        "/usr/bin/python3",
        &["python3", "-m", "http.server", "8000"],
    );
    let nginx = process(33, 1, "nginx", "/usr/sbin/nginx", &["nginx"]);
    for p in [&nc, &one_liner, &http_server, &nginx] {
        seen(p);
    }
    assert_eq!(
        fired(&mut d, &stats, &listen(2, &nc, "0.0.0.0", 4444, false)),
        ["Shell or relay tool listening"]
    );
    assert_eq!(
        fired(&mut d, &stats, &listen(3, &one_liner, "::", 4444, false)),
        ["Interpreter one-liner listening"]
    );
    assert!(fired(
        &mut d,
        &stats,
        &listen(4, &http_server, "0.0.0.0", 8000, false)
    )
    .is_empty());
    assert!(fired(&mut d, &stats, &listen(5, &nginx, "0.0.0.0", 80, false)).is_empty());
    // The listener's close is not a new listener.
    assert!(fired(&mut d, &stats, &listen(6, &nc, "0.0.0.0", 4444, true)).is_empty());
}

#[test]
fn file_rules_fire_on_file_events() {
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let cat = process(20, 1, "cat", "/usr/bin/cat", &["cat"]);
    assert_eq!(
        fired(
            &mut d,
            &stats,
            &file(1, &cat, vec![], FileOperation::Open, "/etc/shadow", 0)
        ),
        ["Read sensitive file"]
    );
    let touch = process(21, 1, "touch", "/usr/bin/touch", &["touch"]);
    let w = file(
        2,
        &touch,
        vec![],
        FileOperation::Open,
        "/usr/bin/evil",
        0o1 | 0o100,
    );
    assert_eq!(fired(&mut d, &stats, &w), ["Write below binary dir"]);
    let rm = process(22, 1, "rm", "/usr/bin/rm", &["rm"]);
    let u = file(
        3,
        &rm,
        vec![],
        FileOperation::Unlink,
        "/root/.bash_history",
        0,
    );
    assert_eq!(fired(&mut d, &stats, &u), ["Clear log or history"]);
}

#[test]
fn canaries_alert_at_emergency_with_the_process_tree() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(&rules, "- canaries: [/srv/secrets/aws.txt]\n").unwrap();
    let sources = RuleSources {
        builtin: true,
        files: vec![rules],
        canaries: vec!["/root/.aws/credentials.bak".into()],
    };
    let loaded = load(&sources).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        loaded.canaries,
        ["/root/.aws/credentials.bak", "/srv/secrets/aws.txt"]
    );
    let stats = Stats::default();
    let mut d = Detector::new(loaded, Users::default());
    let p = process(
        30,
        29,
        "python3",
        "/usr/bin/python3",
        &["python3", "steal.py"],
    );
    let tree = vec![ancestor(29, "/usr/bin/bash"), ancestor(1, "/sbin/init")];
    for path in ["/srv/secrets/aws.txt", "/root/.aws/credentials.bak"] {
        let ev = file(1, &p, tree.clone(), FileOperation::Open, path, 0);
        let alerts = d.evaluate(&ev, &stats.detect);
        let canary = alerts
            .iter()
            .find_map(|a| match a {
                Event::Alert(a) if a.rule == super::canary::RULE_NAME => Some(a),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no canary alert for {path}: {alerts:?}"));
        assert_eq!(canary.priority, AlertPriority::Emergency);
        assert_eq!(canary.ancestors, tree);
        assert!(canary.output.contains(path) && canary.output.contains("parent=bash"));
    }
    let other = file(2, &p, tree, FileOperation::Open, "/srv/secrets/other", 0);
    assert!(fired(&mut d, &stats, &other).is_empty());
    assert_eq!(
        super::canary::watch_paths(
            &["/etc".into(), "/root/".into()],
            &["/root/.aws/x".into(), "/srv/s".into(), "/etcx".into()]
        ),
        ["/etc", "/root/", "/srv/s", "/etcx"]
    );
}

#[test]
fn reload_swaps_on_success_and_keeps_the_old_set_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.yaml");
    let good = "- rule: mine\n  condition: evt.type = execve and proc.name = zzz\n  output: x\n  priority: INFO\n";
    std::fs::write(&path, good).unwrap();
    let sources = RuleSources {
        builtin: false,
        files: vec![path.clone()],
        canaries: vec![],
    };
    let stats = Arc::new(Stats::default());
    let loaded = load(&sources).unwrap();
    let control =
        RulesControl::start(sources, &loaded, None, Default::default(), stats.clone()).unwrap();
    let mut d = Detector::new(loaded, Users::default());
    let zzz = exec(1, process(40, 1, "zzz", "/zzz", &["zzz"]), vec![]);
    assert_eq!(fired(&mut d, &stats, &zzz), ["mine"]);

    std::fs::write(
        &path,
        "- rule: mine\n  condition: proc.nme = zzz\n  output: x\n  priority: INFO\n",
    )
    .unwrap();
    let err = control.reload().unwrap_err();
    assert!(
        err.to_string()
            .contains("r.yaml:2:14: unknown field `proc.nme`"),
        "{err}"
    );
    assert!(control.take_pending().is_none());
    assert_eq!(fired(&mut d, &stats, &zzz), ["mine"]);
    assert_eq!(stats.detect.reload_errors.load(Relaxed), 1);

    std::fs::write(&path, good.replace("mine", "renamed")).unwrap();
    let report = control.reload().unwrap();
    assert_eq!(report.enabled, 1);
    d.replace(control.take_pending().unwrap());
    assert_eq!(fired(&mut d, &stats, &zzz), ["renamed"]);
    assert_eq!(stats.detect.reloads.load(Relaxed), 1);
}

#[test]
fn load_errors_point_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "- rule: b\n  condition: proc.name = (\n  output: x\n  priority: INFO\n",
    )
    .unwrap();
    let e = load(&RuleSources {
        builtin: true,
        files: vec![path],
        canaries: vec![],
    })
    .unwrap_err();
    assert!(matches!(e, RulesError::Load(_)));
    assert!(e.to_string().contains("bad.yaml:2:"), "{e}");
    let missing = load(&RuleSources {
        builtin: false,
        files: vec!["/nonexistent/r.yaml".into()],
        canaries: vec![],
    })
    .unwrap_err();
    assert!(missing
        .to_string()
        .starts_with("cannot read /nonexistent/r.yaml"));
}

#[test]
fn actions_need_pinned_names_and_an_enforcer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.yaml");
    let write = |text: &str| std::fs::write(&path, text).unwrap();
    let sources = RuleSources {
        builtin: false,
        files: vec![path.clone()],
        canaries: vec![],
    };
    write("- rule: k\n  condition: evt.type = execve and proc.name in (xmrig, minerd) and proc.aname = bash\n  output: x\n  priority: CRITICAL\n  action: kill\n  dry_run: true\n");
    let loaded = load(&sources).unwrap();
    let policies: Vec<_> = loaded
        .actions
        .iter()
        .flat_map(|(_, a)| super::actions::policies(a))
        .collect();
    assert_eq!(policies.len(), 2);
    assert!(policies.iter().all(|p| matches!(
        p,
        crate::enforce::Policy::Kill { ancestor: Some(a), dry_run: true, .. } if a == "bash"
    )));
    // No enforcer: refused with the rule's location.
    let e = RulesControl::start(
        sources.clone(),
        &loaded,
        None,
        Default::default(),
        Arc::new(Stats::default()),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("a.yaml:1: rule `k`: enforcement is not available"),
        "{e}"
    );

    write("- rule: k\n  condition: evt.type = execve and proc.cmdline contains xmrig\n  output: x\n  priority: CRITICAL\n  action: kill\n");
    let e = load(&sources).unwrap_err().to_string();
    assert!(
        e.contains("a.yaml:1: rule `k`: action `kill` needs the condition to pin proc.name"),
        "{e}"
    );

    write("- rule: k\n  condition: evt.type = execve and proc.name = sonde\n  output: x\n  priority: CRITICAL\n  action: kill\n");
    let e = load(&sources).unwrap_err().to_string();
    assert!(e.contains("would kill `sonde`"), "{e}");

    write("- rule: d\n  condition: evt.type = connect and fd.dport in (3333, 4444)\n  output: x\n  priority: CRITICAL\n  action: deny-connect\n");
    let loaded = load(&sources).unwrap();
    let policies = super::actions::policies(&loaded.actions[0].1);
    assert_eq!(policies.len(), 4, "{policies:?}");
}

/// One HTTP request read from a test listener: (request line, body).
fn accept_one(listener: &TcpListener) -> (String, String) {
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    s.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        .unwrap();
    (first, String::from_utf8(body).unwrap())
}

#[test]
fn the_webhook_posts_each_alert_as_json_and_counts_failures() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let stats = Arc::new(Stats::default());
    let (hook, thread) = super::webhook::Webhook::start(url, stats.clone()).unwrap();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let bash = process(10, 1, "bash", "/usr/bin/bash", &["bash"]);
    for a in d.evaluate(&connect(1, &bash, 8080), &stats.detect) {
        if let Event::Alert(a) = a {
            hook.send(Arc::new(*a));
        }
    }
    let (line, body) = accept_one(&listener);
    assert!(line.starts_with("POST /hook "), "{line}");
    let alert: sonde_event::Alert = serde_json::from_str(&body).unwrap();
    assert_eq!(alert.rule, "Shell made a network connection");
    assert_eq!(alert.events.len(), 1);
    // A dead receiver: counted as failed.
    drop(listener);
    let (dead, dead_thread) =
        super::webhook::Webhook::start("http://127.0.0.1:9/".into(), stats.clone()).unwrap();
    dead.send(Arc::new(alert));
    drop(dead);
    dead_thread.join().unwrap();
    drop(hook);
    thread.join().unwrap();
    assert_eq!(stats.detect.webhook_sent.load(Relaxed), 1);
    assert_eq!(stats.detect.webhook_failed.load(Relaxed), 1);
}

#[test]
fn time_window_rules_fire_only_inside_their_window() {
    const S: u64 = 1_000_000_000;
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let tree = |pid| vec![ancestor(pid, "/usr/sbin/nginx"), ancestor(1, "/sbin/init")];
    // A shell under nginx, then a connect in the same tree 3 s later: fires.
    let shell = process(700, 600, "sh", "/usr/bin/sh", &["sh", "-c", "x"]);
    d.evaluate(&exec(0, shell.clone(), tree(600)), &stats.detect);
    let curl = process(701, 700, "curl", "/usr/bin/curl", &["curl", "x"]);
    let mut curl_tree = tree(600);
    curl_tree.insert(0, ancestor(700, "/usr/bin/sh"));
    d.evaluate(&exec(S, curl.clone(), curl_tree), &stats.detect);
    assert!(fired(&mut d, &stats, &connect(3 * S, &curl, 443))
        .contains(&"Shell from a server process connected out".to_string()));
    // The same 6 s after another shell: outside the window.
    let late = process(710, 600, "sh", "/usr/bin/sh", &["sh", "-c", "y"]);
    d.evaluate(&exec(10 * S, late.clone(), tree(600)), &stats.detect);
    assert!(!fired(&mut d, &stats, &connect(16 * S, &late, 443))
        .contains(&"Shell from a server process connected out".to_string()));

    // A credential read, then a connect by the same process.
    let stealer = process(800, 1, "python3", "/usr/bin/python3", &["python3", "s.py"]);
    d.evaluate(&exec(20 * S, stealer.clone(), vec![]), &stats.detect);
    let read = file(
        21 * S,
        &stealer,
        vec![],
        FileOperation::Open,
        "/etc/shadow",
        0,
    );
    d.evaluate(&read, &stats.detect);
    assert!(fired(&mut d, &stats, &connect(25 * S, &stealer, 443))
        .contains(&"Credentials read then connected out".to_string()));
    // Another process's connect is not tied to it.
    d.evaluate(&read, &stats.detect);
    let other = process(801, 1, "curl", "/usr/bin/curl", &["curl"]);
    assert!(!fired(&mut d, &stats, &connect(26 * S, &other, 443))
        .contains(&"Credentials read then connected out".to_string()));
}

/// The one enabled default rule without a kernel action (that would load a
/// module into the test machine's kernel).
#[test]
fn a_loaded_kernel_module_alerts_and_a_refused_load_does_not() {
    let stats = Stats::default();
    let mut d = Detector::new(load(&defaults()).unwrap(), Users::default());
    let insmod = process(900, 1, "insmod", "/usr/sbin/insmod", &["insmod", "x.ko"]);
    let module_load = |result| {
        Event::Security(Box::new(sonde_event::SecurityEvent {
            time: sonde_event::Timestamp(1),
            process: insmod.clone(),
            ancestors: vec![ancestor(1, "/sbin/init")],
            kind: sonde_event::SecurityKind::FinitModule,
            detail: sonde_event::SecurityDetail::Module {
                name: Some("x.ko".into()),
                parameters: Some(String::new()),
                size_or_fd: 3,
                flags: 0,
            },
            result,
            error: None,
            credentials_before: Default::default(),
            credentials_after: Default::default(),
            truncated: false,
        }))
    };
    assert_eq!(
        fired(&mut d, &stats, &module_load(0)),
        ["Kernel module load"]
    );
    assert!(fired(&mut d, &stats, &module_load(-1)).is_empty());
}
