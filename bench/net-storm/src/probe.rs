//! A running agent, measured around a run: its counters before and after,
//! its CPU time, and the wait for it to store what the run produced.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::Api;
use crate::bpf_misses;
use crate::cli::AgentArgs;
use bench_support::cpu;
use bench_support::json::{at, sum};

/// The agent reads the kernel's loss counters every second.
const MIN_SETTLE: Duration = Duration::from_millis(1500);
const POLL: Duration = Duration::from_millis(500);

pub struct Probe {
    pub api: Api,
    pub pid: u32,
    pub settle: Duration,
}

pub struct Sample {
    pub status: Value,
    pub ticks: u64,
    /// The kernel's recursion_misses of the agent's programs (no bpftool: None).
    pub misses: Option<BTreeMap<String, u64>>,
}

impl Probe {
    pub fn new(args: &AgentArgs) -> Option<Probe> {
        Some(Probe {
            api: Api::new(args.server.as_deref()?),
            pid: args.agent_pid?,
            settle: Duration::from_secs_f64(args.settle),
        })
    }

    pub fn sample(&self) -> anyhow::Result<Sample> {
        Ok(Sample {
            status: self.api.status()?,
            ticks: cpu::ticks(self.pid)?,
            misses: bpf_misses::snapshot(self.pid).ok(),
        })
    }

    pub fn ticks(&self) -> anyhow::Result<u64> {
        cpu::ticks(self.pid)
    }

    /// Waits (at least `MIN_SETTLE`, at most `settle`) until the agent's
    /// pipeline stops moving or has written everything it produced; then
    /// samples it. True if it settled in time.
    pub fn wait_idle(&self) -> anyhow::Result<(Sample, bool)> {
        let start = Instant::now();
        let mut last = None;
        loop {
            std::thread::sleep(POLL);
            let status = self.api.status()?;
            let moving = (
                at(&status, "pipeline.tcp_events"),
                at(&status, "pipeline.stored_events"),
                at(&status, "lost_total"),
            );
            let produced = ["exec_events", "exit_events", "tcp_events", "drop_events"]
                .iter()
                .map(|k| at(&status, &format!("pipeline.{k}")))
                .sum::<u64>();
            let written = [
                "stored_events",
                "store_queue_dropped",
                "store_failed_events",
            ]
            .iter()
            .map(|k| at(&status, &format!("pipeline.{k}")))
            .sum::<u64>();
            let idle = last == Some(moving) || written >= produced;
            last = Some(moving);
            let elapsed = start.elapsed();
            if (idle && elapsed >= MIN_SETTLE) || elapsed >= self.settle {
                let ticks = self.ticks()?;
                let misses = bpf_misses::snapshot(self.pid).ok();
                let sample = Sample {
                    status,
                    ticks,
                    misses,
                };
                return Ok((sample, idle));
            }
        }
    }
}

/// What the agent counted between two samples, and its CPU.
/// `run_end_ticks`: its CPU ticks when the run itself ended.
pub fn measure(before: &Sample, after: &Sample, run_end_ticks: u64, run_s: f64) -> Value {
    let (b, a) = (&before.status, &after.status);
    let delta = |path: &str| at(a, path).saturating_sub(at(b, path));
    let decode_errors =
        sum(a, "pipeline.decode_errors").saturating_sub(sum(b, "pipeline.decode_errors"));
    // Every counted loss that could be a tcp_connection record, including the
    // runs of the state-change program the kernel skipped (sonde counts those).
    let tcp_loss_bound = delta("pipeline.kernel_lost.tcp")
        + delta("pipeline.kernel_skipped_runs.handle_tcp_state")
        + decode_errors
        + delta("pipeline.queue_dropped")
        + delta("pipeline.store_queue_dropped")
        + delta("pipeline.store_failed_events");
    let hz = cpu::ticks_per_second() as f64;
    let cpu_run_s = run_end_ticks.saturating_sub(before.ticks) as f64 / hz;
    let cpu_all_s = after.ticks.saturating_sub(before.ticks) as f64 / hz;
    let misses = match (&before.misses, &after.misses) {
        (Some(b), Some(a)) => json!(bpf_misses::delta(b, a)),
        _ => Value::Null,
    };
    json!({
        "lost_total": delta("lost_total"),
        "losses": {
            "kernel_lost_tcp": delta("pipeline.kernel_lost.tcp"),
            "kernel_lost_drop": delta("pipeline.kernel_lost.drop"),
            "tcp_connections_untracked": delta("pipeline.net.tcp_connections_untracked"),
            "skipped_tcp_state_runs": delta("pipeline.kernel_skipped_runs.handle_tcp_state"),
            "drop_records_suppressed": delta("pipeline.net.drop_records_suppressed"),
            "decode_errors": decode_errors,
            "queue_dropped": delta("pipeline.queue_dropped"),
            "store_queue_dropped": delta("pipeline.store_queue_dropped"),
            "store_failed_events": delta("pipeline.store_failed_events"),
        },
        "tcp_loss_bound": tcp_loss_bound,
        // The same skipped runs as bpftool reports them, for comparison.
        "recursion_misses": misses,
        "records_tcp": delta("pipeline.records.tcp"),
        "tcp_events": delta("pipeline.tcp_events"),
        "stored_events": delta("pipeline.stored_events"),
        "cpu_pct_run": 100.0 * cpu_run_s / run_s,
        "cpu_s_run": cpu_run_s,
        "cpu_s_incl_drain": cpu_all_s,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn deltas_of_counters() {
        let sample = |lost, tcp, ticks| super::Sample {
            status: json!({"lost_total": lost, "pipeline": {"kernel_lost": {"tcp": tcp}, "decode_errors": {"short": tcp}}}),
            ticks,
            misses: None,
        };
        let m = super::measure(&sample(1, 2, 100), &sample(4, 7, 300), 200, 1.0);
        assert_eq!(m["lost_total"], 3);
        assert_eq!(m["losses"]["kernel_lost_tcp"], 5);
        assert_eq!(m["tcp_loss_bound"], 10);
        assert!(m["cpu_pct_run"].as_f64().unwrap() > 0.0);
    }
}
