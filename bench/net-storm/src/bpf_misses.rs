//! How often the kernel skipped the agent's eBPF programs: `recursion_misses`
//! from `bpftool prog show -j`. A tracepoint program is skipped when another
//! eBPF program is already running on that CPU (e.g. a softirq interrupting
//! one); the kernel counts that per program, whatever bpf_stats_enabled says.

use std::collections::BTreeMap;

use bench_support::bpftool;
use serde_json::Value;

/// recursion_misses per program name of the agent `pid`.
pub fn snapshot(pid: u32) -> anyhow::Result<BTreeMap<String, u64>> {
    Ok(misses(
        &bpftool::programs()?,
        pid,
        &bpftool::held_prog_ids(pid)?,
    ))
}

/// The difference per program, the ones that changed.
pub fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, n)| {
            (
                name.clone(),
                n.saturating_sub(*before.get(name).unwrap_or(&0)),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// recursion_misses of the programs `pid` owns, summed per name.
fn misses(progs: &Value, pid: u32, held: &[u64]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for p in bpftool::owned_by(progs, pid, held) {
        let name = p["name"].as_str().unwrap_or("?").to_string();
        *out.entry(name).or_default() += p["recursion_misses"].as_u64().unwrap_or(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn counts_the_agents_misses() {
        let progs = json!([
            {"id": 1, "name": "handle_tcp_state", "recursion_misses": 7},
            {"id": 2, "name": "handle_drop"},
            {"id": 3, "name": "handle_tcp_state", "recursion_misses": 100},
        ]);
        let m = super::misses(&progs, 9, &[1, 2]);
        assert_eq!(m["handle_tcp_state"], 7);
        assert_eq!(m["handle_drop"], 0);
        let after = super::misses(&progs, 9, &[3, 2]);
        assert_eq!(super::delta(&m, &after).len(), 1);
    }
}
