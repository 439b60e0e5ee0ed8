//! The eBPF programs a process holds, as `bpftool prog show -j` describes
//! them (run-time statistics, recursion misses).

use std::process::Command;

use anyhow::{bail, Context};
use serde_json::Value;

/// bpftool's description of every loaded program.
pub fn programs() -> anyhow::Result<Value> {
    let out = Command::new("bpftool")
        .args(["prog", "show", "-j"])
        .output()
        .context("cannot run bpftool")?;
    if !out.status.success() {
        bail!(
            "bpftool prog show failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout).context("bpftool: not JSON")
}

/// The programs of `programs` that process `pid` owns: named in bpftool's
/// `pids`, or, from a bpftool built without `pids`, held by `pid` (`held`).
pub fn owned_by<'a>(
    programs: &'a Value,
    pid: u32,
    held: &'a [u64],
) -> impl Iterator<Item = &'a Value> {
    programs
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| match p["pids"].as_array() {
            Some(pids) => pids.iter().any(|o| o["pid"].as_u64() == Some(pid.into())),
            None => p["id"].as_u64().is_some_and(|id| held.contains(&id)),
        })
}

/// The ids of the eBPF programs `pid` holds an fd of (or of a link to).
pub fn held_prog_ids(pid: u32) -> anyhow::Result<Vec<u64>> {
    let dir = format!("/proc/{pid}/fdinfo");
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {dir}"))? {
        // An fd closed meanwhile has no fdinfo any more.
        let Ok(info) = std::fs::read_to_string(entry?.path()) else {
            continue;
        };
        let id = info.lines().find_map(|l| l.strip_prefix("prog_id:"));
        ids.extend(id.and_then(|id| id.trim().parse::<u64>().ok()));
    }
    Ok(ids)
}
