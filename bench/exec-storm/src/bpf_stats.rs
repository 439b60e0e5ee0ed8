//! The kernel-side cost of the agent's eBPF programs: their run-time
//! statistics from `bpftool prog show -j` (counted only while
//! kernel.bpf_stats_enabled is 1; `bench/exec-storm.sh` sets it).

use anyhow::{bail, Context};
use bench_support::bpftool;
use serde_json::{json, Map, Value};

/// The agent's programs (the kernel keeps at most 15 chars of a name).
const PROGRAMS: [&str; 3] = ["handle_exec", "handle_fork", "handle_exit"];
const NAME_MAX: usize = 15;

/// run_time_ns and run_cnt of each of `PROGRAMS`, in that order.
pub type Snapshot = [(u64, u64); 3];

/// The counters of the programs of process `pid`, now.
pub fn snapshot(pid: u32) -> anyhow::Result<Snapshot> {
    find(&bpftool::programs()?, pid, &bpftool::held_prog_ids(pid)?)
}

/// What the programs cost between two snapshots, over a storm of
/// `generated` execs that lasted `storm_s`.
pub fn delta(before: &Snapshot, after: &Snapshot, generated: u64, storm_s: f64) -> Value {
    let mut programs = Map::new();
    let mut total_ns = 0;
    for ((name, b), a) in PROGRAMS.iter().zip(before).zip(after) {
        let ns = a.0.saturating_sub(b.0);
        let runs = a.1.saturating_sub(b.1);
        total_ns += ns;
        let program = json!({
            "runs": runs,
            "ns_per_run": (runs > 0).then(|| ns as f64 / runs as f64),
            "cpu_s": ns as f64 / 1e9,
        });
        programs.insert(name.to_string(), program);
    }
    json!({
        "programs": programs,
        "cpu_s": total_ns as f64 / 1e9,
        "us_per_exec": total_ns as f64 / 1e3 / generated as f64,
        "cpu_pct_storm": 100.0 * total_ns as f64 / 1e9 / storm_s,
    })
}

/// Picks `PROGRAMS` among the programs `pid` owns.
fn find(progs: &Value, pid: u32, held: &[u64]) -> anyhow::Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    for (name, counters) in PROGRAMS.iter().zip(&mut snapshot) {
        let short = &name[..name.len().min(NAME_MAX)];
        let mut found = bpftool::owned_by(progs, pid, held)
            .filter(|p| p["name"] == *name || p["name"] == short);
        let p = found
            .next()
            .with_context(|| format!("bpftool shows no program {name} of pid {pid}"))?;
        if found.next().is_some() {
            bail!("pid {pid} has more than one program {name}");
        }
        let n = |field: &str| p[field].as_u64().unwrap_or(0);
        *counters = (n("run_time_ns"), n("run_cnt"));
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn finds_the_agents_programs() {
        let prog = |id: u64, name: &str, ns: u64| json!({"id": id, "name": name, "run_time_ns": ns, "run_cnt": 2});
        let progs = json!([
            prog(1, "handle_exec", 100),
            prog(2, "handle_fork", 200),
            prog(3, "handle_exit", 300),
            prog(4, "handle_exec", 999),
        ]);
        let found = super::find(&progs, 7, &[1, 2, 3]).unwrap();
        assert_eq!(found, [(100, 2), (200, 2), (300, 2)]);
        let mut with_pids = progs.clone();
        with_pids[0]["pids"] = json!([{"pid": 8, "comm": "other"}]);
        with_pids[3]["pids"] = json!([{"pid": 7, "comm": "sonde"}]);
        let found = super::find(&with_pids, 7, &[1, 2, 3]).unwrap();
        assert_eq!(found[0], (999, 2));
        assert!(super::find(&progs, 7, &[1, 4]).is_err());
    }
}
