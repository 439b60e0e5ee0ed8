//! How often the kernel skipped the agent's eBPF programs: `recursion_misses`
//! from `bpftool prog show -j`. A tracepoint program is skipped when another
//! eBPF program is already running on that CPU (e.g. a softirq interrupting
//! one); the kernel counts that per program, whatever bpf_stats_enabled says.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::Value;

/// recursion_misses per program name of the agent `pid`.
pub fn snapshot(pid: u32) -> anyhow::Result<BTreeMap<String, u64>> {
    let out = Command::new("bpftool")
        .args(["prog", "show", "-j"])
        .output()
        .context("cannot run bpftool")?;
    if !out.status.success() {
        bail!(
            "bpftool failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let progs: Value = serde_json::from_slice(&out.stdout).context("bpftool: not JSON")?;
    Ok(misses(&progs, pid, &held_prog_ids(pid)))
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

/// A program is the agent's if bpftool's `pids` name `pid`, or, from a
/// bpftool built without `pids`, if `pid` holds an fd of it (`held`).
fn misses(progs: &Value, pid: u32, held: &[u64]) -> BTreeMap<String, u64> {
    let owned = |p: &&Value| match p["pids"].as_array() {
        Some(pids) => pids.iter().any(|o| o["pid"].as_u64() == Some(pid.into())),
        None => p["id"].as_u64().is_some_and(|id| held.contains(&id)),
    };
    let mut out = BTreeMap::new();
    for p in progs.as_array().into_iter().flatten().filter(owned) {
        let name = p["name"].as_str().unwrap_or("?").to_string();
        *out.entry(name).or_default() += p["recursion_misses"].as_u64().unwrap_or(0);
    }
    out
}

/// The ids of the eBPF programs `pid` holds an fd of.
fn held_prog_ids(pid: u32) -> Vec<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter_map(|info| {
            let id = info.lines().find_map(|l| l.strip_prefix("prog_id:"))?;
            id.trim().parse().ok()
        })
        .collect()
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
