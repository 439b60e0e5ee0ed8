//! Events per second through the agent's detection stage (events mapped to
//! rule fields, lineage, the rule engine) with the default rules, over a mix
//! of execs with ancestry, connections and file opens.
//! `cargo bench -p sonde-agent --bench detect` measures (release build); under
//! `cargo test` it runs one round and checks the outcome only.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use sonde_agent::detect::fields::Users;
use sonde_agent::detect::sample::{ancestor, connect, exec, file, process};
use sonde_agent::detect::{load, Detector, RuleSources};
use sonde_agent::Stats;
use sonde_event::FileOperation;

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let sources = RuleSources {
        builtin: true,
        ..RuleSources::default()
    };
    let stats = Stats::default();
    let mut d = Detector::new(load(&sources).expect("default rules"), Users::load());
    let mut events = Vec::new();
    for i in 0..3000u32 {
        let pid = 10_000 + i;
        let p = process(pid, 500, "make", "/usr/bin/make", &["make", "-j2", "all"]);
        let tree = vec![
            ancestor(500, "/usr/bin/bash"),
            ancestor(400, "/usr/sbin/sshd"),
            ancestor(1, "/sbin/init"),
        ];
        events.push(exec(u64::from(i) * 3, p.clone(), tree.clone()));
        events.push(connect(u64::from(i) * 3 + 1, &p, 443));
        events.push(file(
            u64::from(i) * 3 + 2,
            &p,
            tree,
            FileOperation::Open,
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            0o2000000,
        ));
    }
    let rounds = if measuring { 30 } else { 1 };
    let start = Instant::now();
    let mut alerts = 0;
    for _ in 0..rounds {
        for e in &events {
            alerts += d.evaluate(e, &stats.detect).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = events.len() * rounds;
    assert_eq!(alerts, 0, "a build under ssh raises nothing");
    assert_eq!(stats.detect.evaluated_events.load(Relaxed), n as u64);
    println!(
        "detection stage ({} build): {n} events in {secs:.3} s = {:.0} events/s, {} rule evaluations ({:.0}/s), {alerts} alerts",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        n as f64 / secs,
        stats.detect.rule_evaluations.load(Relaxed),
        stats.detect.rule_evaluations.load(Relaxed) as f64 / secs,
    );
}
