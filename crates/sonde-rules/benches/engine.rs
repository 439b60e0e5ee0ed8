//! Throughput of the rule engine with the 25 Falco-style rules of
//! `tests/rules/falco-style.yaml`, with and without the `evt.type`
//! pre-filter. `cargo bench -p sonde-rules --bench engine` measures (build
//! in release); under `cargo test` it runs a few rounds and checks the
//! alerts only.

use std::sync::Arc;
use std::time::Instant;

use sonde_rules::{load_str, Engine, Matcher};

#[allow(dead_code)] // The bench builds only some of the test events.
#[path = "../tests/rules/event.rs"]
mod event;

use event::Ev;

/// Rule evaluations per round of the 64-event mix after the `evt.type`
/// pre-filter (of 64 × 25 without it). The mix is benign: no alerts.
const EVALUATIONS_PER_ROUND: u64 = 424;

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let set = load_str(
        "falco-style.yaml",
        include_str!("../tests/rules/falco-style.yaml"),
    )
    .expect("the bench rules load");
    assert_eq!(set.rules().len(), 25);
    let mut engine = Engine::new(Arc::new(set));
    // A mix like a busy host: mostly opens and execs, some connects.
    let events: Vec<Ev> = (0..64)
        .map(|i| match i % 8 {
            0 | 1 => Ev::new("execve")
                .n("evt.res", 0)
                .proc(["ls", "cat", "grep", "sh"][i % 4], "/usr/bin/x", "-la /tmp")
                .s("proc.pname", "bash")
                .ancestors(&["bash", "sshd", "systemd"])
                .s("container.id", "host")
                .n("proc.tty", 0)
                .n("proc.tree_id", i as i64)
                .n("evt.time", i as i64 * 1_000_000),
            2..=5 => Ev::new("openat")
                .n("evt.res", 3)
                .file(
                    [
                        "/etc/ld.so.cache",
                        "/usr/lib/libc.so.6",
                        "/home/u/notes.txt",
                        "/proc/self/stat",
                    ][i % 4],
                )
                .b("evt.is_open_read", true)
                .b("evt.is_open_write", false)
                .l("evt.arg.flags", &["O_RDONLY", "O_CLOEXEC"])
                .s("proc.name", "cat")
                .ancestors(&["bash", "sshd"]),
            6 => Ev::new("connect")
                .s("proc.name", "curl")
                .s("fd.dip", "127.0.0.1")
                .n("fd.dport", 8080)
                .n("proc.tree_id", i as i64)
                .n("evt.time", i as i64 * 1_000_000),
            _ => Ev::new("close").s("proc.name", "cat"),
        })
        .collect();
    let rounds = if measuring { 50_000 } else { 10 };
    let start = Instant::now();
    let mut alerts = 0usize;
    for _ in 0..rounds {
        for e in &events {
            alerts += engine.process(e).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // Side by side: every rule on every event, without the evt.type pre-filter.
    let set = engine.rules().clone();
    let start_all = Instant::now();
    let mut all_evals = 0u64;
    let mut all_hits = 0u64;
    for _ in 0..rounds {
        for e in &events {
            for r in set.rules() {
                if let Matcher::Condition(p) = &r.matcher {
                    all_evals += 1;
                    all_hits += u64::from(p.eval(e));
                }
            }
        }
    }
    let secs_all = start_all.elapsed().as_secs_f64();
    let st = engine.stats();
    assert_eq!(alerts, 0, "the mix is benign");
    assert_eq!(st.evaluations, EVALUATIONS_PER_ROUND * rounds);
    println!(
        "sonde-rules bench ({} build): {} events, {} rule evaluations after the evt.type pre-filter ({:.2}/event of 25 rules), {} alerts, {:.0} events/s, {:.0} rule evaluations/s",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        st.events,
        st.evaluations,
        st.evaluations as f64 / st.events as f64,
        alerts,
        st.events as f64 / secs,
        st.evaluations as f64 / secs,
    );
    println!(
        "sonde-rules bench without pre-filter: {all_evals} condition evaluations ({all_hits} true), {:.0} events/s, {:.0} rule evaluations/s; pre-filter speed-up {:.2}x",
        st.events as f64 / secs_all,
        all_evals as f64 / secs_all,
        secs_all / secs,
    );
}
