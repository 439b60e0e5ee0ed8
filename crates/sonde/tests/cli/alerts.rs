//! `sonde alerts` end to end: rules from `--rules`, alerts over the API and
//! the CLI, reload by `sonde alerts --reload` and SIGHUP keeping the old set
//! on error, and a start refused by a bad rules file.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{is_root, sonde, stderr, AgentProcess};

fn rule(name: &str, marker: &str) -> String {
    format!(
        "- rule: {name}\n  condition: evt.type = execve and proc.args contains {marker}\n  output: \"marker seen (%proc.cmdline)\"\n  priority: CRITICAL\n  tags: [test]\n"
    )
}

/// Runs a process with `marker` in its arguments, then polls `sonde alerts`
/// for an alert of `rule`.
fn alert_for(agent: &AgentProcess, rule: &str, marker: &str) -> Option<serde_json::Value> {
    Command::new("/bin/sh")
        .args(["-c", "true", marker])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let out = agent.cli(&["alerts", "--since", "5m", "--rule", rule, "-o", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let found = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|a| {
                a.pointer("/alert/output")
                    .and_then(|o| o.as_str())
                    .is_some_and(|o| o.contains(marker))
            });
        if found.is_some() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn alerts_are_served_and_rules_reload_without_restart() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, rule("First rule", "sonde-cli-alert")).unwrap();
    let data = dir.path().join("data");
    let agent = AgentProcess::start_with(&data, &["--rules", rules.to_str().unwrap()]);

    let alert = alert_for(&agent, "First rule", "sonde-cli-alert-one").expect("first alert");
    assert_eq!(
        alert.pointer("/alert/priority"),
        Some(&serde_json::json!("CRITICAL"))
    );
    assert!(alert.pointer("/alert/events/0/process_exec").is_some());
    assert!(alert.pointer("/alert/ancestors/0/pid").is_some());
    let table = agent.cli(&["alerts", "--since", "5m", "--priority", "ERROR"]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("TIME "), "{table}");
    assert!(table.contains("First rule"), "{table}");
    let none = agent.cli(&[
        "alerts",
        "--since",
        "5m",
        "--rule",
        "no such rule",
        "-o",
        "json",
    ]);
    assert!(none.stdout.is_empty());

    // A broken file: refused, the running set stays.
    std::fs::write(
        &rules,
        "- rule: Broken\n  condition: proc.nme = x\n  output: x\n  priority: INFO\n",
    )
    .unwrap();
    let out = agent.cli(&["alerts", "--reload"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("rules.yaml:2:14: unknown field `proc.nme`"),
        "{err}"
    );
    assert!(alert_for(&agent, "First rule", "sonde-cli-alert-two").is_some());

    // Fixed, and reloaded by SIGHUP.
    std::fs::write(&rules, rule("Second rule", "sonde-cli-alert")).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &agent.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    // The signal is handled on its own thread: an exec before the reload
    // is done meets the old rules.
    let metrics = || {
        let out = Command::new("curl")
            .args(["-s", &format!("http://{}/metrics", agent.server)])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !metrics().contains("sonde_rules_reloads_total 1") {
        assert!(Instant::now() < deadline, "SIGHUP never reloaded the rules");
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = alert_for(&agent, "Second rule", "sonde-cli-alert-three");
    assert!(second.is_some(), "the reloaded rule never fired");

    let metrics = metrics();
    assert!(
        metrics.contains("sonde_alerts_total{rule=\"First rule\",priority=\"CRITICAL\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("sonde_rules_reload_errors_total 1"));
    assert!(metrics.contains("sonde_rules_reloads_total 1"));
}

#[test]
fn a_bad_rules_file_refuses_the_start_with_its_location() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.yaml");
    std::fs::write(
        &rules,
        "- rule: b\n  condition: evt.type = execve and\n  output: x\n  priority: INFO\n",
    )
    .unwrap();
    let out = sonde()
        .args([
            "agent",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--rules",
            rules.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.yaml:2:"), "{err}");
    assert!(err.contains("detection rules refused"), "{err}");
}

#[test]
fn enforcement_policies_are_listed_and_reload_with_the_rules() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies.yaml");
    std::fs::write(
        &policies,
        "- action: deny-connect\n  rule: p-one\n  cidr: 192.0.2.0/24\n  port: 9\n  dry_run: true\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let agent = AgentProcess::start_with(&data, &["--enforce-policy", policies.to_str().unwrap()]);
    let listed = |agent: &AgentProcess| -> serde_json::Value {
        let out = agent.cli(&["policies", "-o", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = listed(&agent);
    if v["available"] == serde_json::json!(false) {
        eprintln!("SKIP: this kernel could not load the enforcement programs");
        return;
    }
    assert_eq!(
        v["policies"],
        serde_json::json!([{"action": "deny-connect", "rule": "p-one", "cidr": "192.0.2.0/24",
            "port": 9, "cgroup": null, "dry_run": true}])
    );
    let table = String::from_utf8(agent.cli(&["policies"]).stdout).unwrap();
    assert!(table.starts_with("RULE "), "{table}");
    assert!(
        table.contains("p-one")
            && table.contains("192.0.2.0/24 port 9")
            && table.contains("dry-run"),
        "{table}"
    );

    // The file changed: a reload installs it.
    std::fs::write(
        &policies,
        "- action: kill\n  rule: p-two\n  binary_name: sonde-no-such-binary\n  dry_run: true\n",
    )
    .unwrap();
    let out = agent.cli(&["alerts", "--reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"policies\":1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(listed(&agent)["policies"][0]["rule"], "p-two");

    // A policy against PID 1: refused, the running set stays.
    std::fs::write(
        &policies,
        "- action: kill\n  rule: p-init\n  binary_path: /sbin/init\n",
    )
    .unwrap();
    let out = agent.cli(&["alerts", "--reload"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("p-init"), "{err}");
    assert_eq!(listed(&agent)["policies"][0]["rule"], "p-two");
}
