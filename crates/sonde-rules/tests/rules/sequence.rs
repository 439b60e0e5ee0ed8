//! Time-window (sequence) rules.

use std::sync::Arc;

use sonde_rules::{load_str, Engine};

use crate::event::Ev;

const S: i64 = 1_000_000_000;

const RULES: &str = "
- list: shell_binaries
  items: [sh, bash]
- rule: Connect soon after a shell
  desc: a connect within 5 s of a shell exec in the same process tree
  by: proc.tree_id
  sequence:
    - condition: evt.type = execve and proc.name in (shell_binaries)
    - condition: evt.type = connect
      within: 5s
  output: \"%proc.name connected to %fd.dip:%fd.dport after a shell (tree %proc.tree_id)\"
  priority: WARNING
  max_keys: 3
";

fn engine() -> Engine {
    Engine::new(Arc::new(load_str("seq.yaml", RULES).unwrap()))
}

fn exec(tree: i64, t: i64) -> Ev {
    Ev::new("execve")
        .s("proc.name", "sh")
        .n("proc.tree_id", tree)
        .n("evt.time", t)
}

fn connect(tree: i64, t: i64) -> Ev {
    Ev::new("connect")
        .s("proc.name", "curl")
        .n("proc.tree_id", tree)
        .n("evt.time", t)
        .s("fd.dip", "10.0.0.1")
        .n("fd.dport", 443)
}

const NAME: &str = "Connect soon after a shell";

#[test]
fn fires_within_the_window() {
    let mut e = engine();
    assert!(e.process(&exec(1, 100 * S)).is_empty());
    let alerts = e.process(&connect(1, 104 * S));
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].output,
        "curl connected to 10.0.0.1:443 after a shell (tree 1)"
    );
    // The key is forgotten after firing.
    assert!(e.process(&connect(1, 104 * S + 1)).is_empty());
    assert_eq!(e.sequence_keys(NAME), Some(0));
}

#[test]
fn does_not_fire_after_the_window() {
    let mut e = engine();
    e.process(&exec(1, 100 * S));
    assert!(e.process(&connect(1, 105 * S + 1)).is_empty());
    let st = e.sequence_stats(NAME).unwrap();
    assert_eq!((st.started, st.expired, st.fired), (1, 1, 0));
}

#[test]
fn keys_do_not_mix_and_order_matters() {
    let mut e = engine();
    e.process(&exec(1, 100 * S));
    assert!(e.process(&connect(2, 101 * S)).is_empty(), "other tree");
    let mut e = engine();
    assert!(e.process(&connect(1, 100 * S)).is_empty(), "connect first");
    e.process(&exec(1, 101 * S));
    assert_eq!(e.process(&connect(1, 102 * S)).len(), 1);
}

#[test]
fn a_new_first_step_restarts_the_window() {
    let mut e = engine();
    e.process(&exec(1, 100 * S));
    e.process(&exec(1, 104 * S));
    assert_eq!(e.process(&connect(1, 108 * S)).len(), 1);
}

#[test]
fn events_without_time_or_key_are_counted() {
    let mut e = engine();
    e.process(&Ev::new("execve").s("proc.name", "sh").n("proc.tree_id", 1));
    e.process(&Ev::new("execve").s("proc.name", "sh").n("evt.time", 1));
    let st = e.sequence_stats(NAME).unwrap();
    assert_eq!((st.no_time, st.no_key, st.started), (1, 1, 0));
}

#[test]
fn state_is_bounded_and_evictions_counted() {
    let mut e = engine();
    for tree in 0..10 {
        e.process(&exec(tree, 100 * S + tree));
    }
    assert_eq!(e.sequence_keys(NAME), Some(3));
    assert_eq!(e.sequence_stats(NAME).unwrap().evicted, 7);
    // The newest keys survive.
    assert_eq!(e.process(&connect(9, 101 * S)).len(), 1);
    assert!(e.process(&connect(0, 101 * S)).is_empty());
    // Expired keys are dropped before live ones are evicted.
    let mut e = engine();
    e.process(&exec(1, 100 * S));
    e.process(&exec(2, 100 * S));
    e.process(&exec(3, 200 * S));
    e.process(&exec(4, 200 * S));
    let st = e.sequence_stats(NAME).unwrap();
    assert_eq!((st.expired, st.evicted), (2, 0));
    assert_eq!(e.sequence_keys(NAME), Some(2));
}

#[test]
fn many_updates_of_one_key_do_not_grow_memory() {
    let mut e = engine();
    for i in 0..10_000 {
        e.process(&exec(1, i));
    }
    assert_eq!(e.sequence_keys(NAME), Some(1));
}

#[test]
fn three_steps() {
    let y = "
- rule: three
  by: proc.pid
  sequence:
    - condition: evt.type = open and fd.name = /etc/shadow
    - condition: evt.type = execve
      within: 1s
    - condition: evt.type = connect
      within: 2s
  output: x
  priority: CRITICAL
";
    let mut e = Engine::new(Arc::new(load_str("s.yaml", y).unwrap()));
    let ev = |t: &str, time: i64| {
        Ev::new(t)
            .n("proc.pid", 5)
            .n("evt.time", time)
            .file("/etc/shadow")
    };
    e.process(&ev("open", 0));
    e.process(&ev("execve", S));
    assert_eq!(e.process(&ev("connect", 3 * S)).len(), 1);
    e.process(&ev("open", 10 * S));
    e.process(&ev("execve", 11 * S + 1));
    assert!(e.process(&ev("connect", 12 * S)).is_empty());
    let set = load_str("s.yaml", y).unwrap();
    let idx = |t| set.candidates_for_type(Some(t)).len();
    assert_eq!(
        (idx("open"), idx("execve"), idx("connect"), idx("unlink")),
        (1, 1, 1, 0)
    );
}
