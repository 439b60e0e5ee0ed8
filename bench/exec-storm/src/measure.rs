//! One storm, and with `--server`: what the agent made of it.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{Api, ExecCount};
use crate::cli::StormArgs;
use crate::{bpf_stats, report, storm, tiny_exe};
use bench_support::cpu;
use bench_support::json::{at, sum};

/// Events are looked for this far around the storm (clock skew, batching).
const SLACK_NS: u64 = 2_000_000_000;
/// And this far beyond, in one request each side, to report strays.
const FAR_NS: u64 = 600_000_000_000;
/// The agent reads the kernel's loss counters every second.
const MIN_SETTLE: Duration = Duration::from_millis(1500);
const POLL: Duration = Duration::from_millis(500);

pub fn run(args: &StormArgs) -> anyhow::Result<()> {
    let exe = tiny_exe::prepare(args.exe.as_deref())?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let probe = match (&args.server, args.agent_pid) {
        (Some(server), Some(pid)) => Some(Probe {
            api: Api::new(server),
            pid,
        }),
        _ => None,
    };
    let before = probe.as_ref().map(Probe::sample).transpose()?;
    let bpf_pid = args.agent_pid.filter(|_| args.bpf_stats);
    let bpf_before = bpf_pid.map(bpf_stats::snapshot).transpose()?;
    let config = storm::Config {
        exe: &exe.path,
        rate: args.rate,
        duration: Duration::from_secs_f64(args.duration),
        workers,
    };
    let outcome = storm::run(&config)?;
    let ticks_at_end = probe.as_ref().map(|p| cpu::ticks(p.pid)).transpose()?;
    let bpf = match (bpf_pid, bpf_before) {
        (Some(pid), Some(before)) => {
            let after = bpf_stats::snapshot(pid)?;
            let storm_s = outcome.elapsed.as_secs_f64();
            Some(bpf_stats::delta(
                &before,
                &after,
                outcome.generated,
                storm_s,
            ))
        }
        _ => None,
    };
    let agent = match (&probe, before, ticks_at_end) {
        (Some(probe), Some(before), Some(ticks)) => {
            let settle = Duration::from_secs_f64(args.settle);
            Some(probe.measure(&before, ticks, &outcome, &exe.path, settle)?)
        }
        _ => None,
    };
    let result = json!({
        "label": args.label,
        "exe": exe.path,
        "exe_kind": exe.kind,
        "workers": workers,
        "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "target_rate": args.rate,
        "duration_s": args.duration,
        "elapsed_s": outcome.elapsed.as_secs_f64(),
        "generated": outcome.generated,
        "spawn_failed": outcome.spawn_failed,
        "child_failed": outcome.child_failed,
        "exec_per_s": outcome.exec_per_s(),
        "agent": agent,
        "bpf": bpf,
    });
    if args.json {
        println!("{result}");
    } else {
        print!("{}", report::table(&[&result], None));
    }
    Ok(())
}

struct Probe {
    api: Api,
    pid: u32,
}

struct Sample {
    status: Value,
    ticks: u64,
}

impl Probe {
    fn sample(&self) -> anyhow::Result<Sample> {
        Ok(Sample {
            status: self.api.status()?,
            ticks: cpu::ticks(self.pid)?,
        })
    }

    /// Waits for the agent to store the storm's execs, counts them, and
    /// compares its counters with `before`.
    fn measure(
        &self,
        before: &Sample,
        ticks_at_end: u64,
        storm: &storm::Outcome,
        exe: &Path,
        settle: Duration,
    ) -> anyhow::Result<Value> {
        let binary = exe.to_string_lossy();
        let (since, until) = (storm.start_ns - SLACK_NS, storm.end_ns + SLACK_NS);
        let waited = Instant::now();
        let (count, settled) =
            self.wait_for_execs(&binary, since, until, storm.generated, settle)?;
        if let Some(left) = MIN_SETTLE.checked_sub(waited.elapsed()) {
            std::thread::sleep(left);
        }
        let settle_s = waited.elapsed().as_secs_f64();
        let after = self.sample()?;
        let outside = self.api.count_execs_once(&binary, since - FAR_NS, since)?
            + self.api.count_execs_once(&binary, until, until + FAR_NS)?;

        let delta = |path: &str| at(&after.status, path).saturating_sub(at(&before.status, path));
        let hz = cpu::ticks_per_second() as f64;
        let storm_s = storm.elapsed.as_secs_f64();
        let cpu_storm_s = (ticks_at_end - before.ticks) as f64 / hz;
        let cpu_all_s = (after.ticks - before.ticks) as f64 / hz;
        let kernel_lost_exec = delta("pipeline.kernel_lost.exec");
        let decode_errors = sum(&after.status, "pipeline.decode_errors")
            - sum(&before.status, "pipeline.decode_errors");
        // Every counted loss that could have been one of the storm's execs.
        let exec_loss_bound = kernel_lost_exec
            + decode_errors
            + delta("pipeline.queue_dropped")
            + delta("pipeline.store_queue_dropped")
            + delta("pipeline.store_failed_events");
        let missing = storm.generated.saturating_sub(count.recorded);
        let exec_kind = |s: &Value, field: &str| {
            s.pointer("/store/per_kind")
                .and_then(Value::as_array)
                .and_then(|kinds| kinds.iter().find(|k| k["kind"] == "process_exec"))
                .and_then(|k| k[field].as_u64())
                .unwrap_or(0)
        };
        let storm_exec_events =
            exec_kind(&after.status, "events").saturating_sub(exec_kind(&before.status, "events"));
        let storm_exec_bytes =
            exec_kind(&after.status, "bytes").saturating_sub(exec_kind(&before.status, "bytes"));
        let stored = delta("store.events");
        Ok(json!({
            "recorded": count.recorded,
            "recorded_ratio": count.recorded as f64 / storm.generated as f64,
            "missing": missing,
            "duplicates": count.duplicates,
            "foreign_lines": count.foreign,
            "outside_window": outside,
            "settled": settled,
            "settle_s": settle_s,
            "cpu_pct_storm": 100.0 * cpu_storm_s / storm_s,
            "cpu_s_storm": cpu_storm_s,
            "cpu_s_incl_drain": cpu_all_s,
            "cpu_us_per_exec": 1e6 * cpu_all_s / storm.generated as f64,
            "lost_total": delta("lost_total"),
            "losses": {
                "kernel_lost_exec": kernel_lost_exec,
                "kernel_lost_exit": delta("pipeline.kernel_lost.exit"),
                "kernel_lost_fork": delta("pipeline.kernel_lost.fork"),
                "decode_errors": decode_errors,
                "queue_dropped": delta("pipeline.queue_dropped"),
                "store_queue_dropped": delta("pipeline.store_queue_dropped"),
                "store_failed_events": delta("pipeline.store_failed_events"),
                "subscriber_lagged": delta("pipeline.subscriber_lagged"),
            },
            "exec_loss_bound": exec_loss_bound,
            "unexplained_missing": missing.saturating_sub(exec_loss_bound),
            "records": {
                "exec": delta("pipeline.records.exec"),
                "exit": delta("pipeline.records.exit"),
                "fork": delta("pipeline.records.fork"),
            },
            "exec_events": delta("pipeline.exec_events"),
            "exit_events": delta("pipeline.exit_events"),
            "stored_events": delta("pipeline.stored_events"),
            "exec_event_bytes": after.status["exec_event_bytes"].as_f64(),
            "storm_exec_bytes_per_event": (storm_exec_events > 0).then(|| storm_exec_bytes as f64 / storm_exec_events as f64),
            "file_bytes_delta": delta("store.file_bytes"),
            "file_bytes_per_event": (stored > 0).then(|| delta("store.file_bytes") as f64 / stored as f64),
        }))
    }

    /// Polls until the agent is idle and the stored exec count of `binary`
    /// stops rising (or reaches `generated`), for at most `settle`.
    fn wait_for_execs(
        &self,
        binary: &str,
        since: u64,
        until: u64,
        generated: u64,
        settle: Duration,
    ) -> anyhow::Result<(ExecCount, bool)> {
        let deadline = Instant::now() + settle;
        let mut last_pipeline = None;
        let mut last_count: Option<u64> = None;
        loop {
            let status = self.api.status()?;
            let pipeline = (
                at(&status, "pipeline.exec_events"),
                at(&status, "pipeline.stored_events"),
            );
            let produced =
                at(&status, "pipeline.exec_events") + at(&status, "pipeline.exit_events");
            let written = at(&status, "pipeline.stored_events")
                + at(&status, "pipeline.store_queue_dropped")
                + at(&status, "pipeline.store_failed_events");
            let idle = last_pipeline == Some(pipeline) || written >= produced;
            last_pipeline = Some(pipeline);
            let out_of_time = Instant::now() >= deadline;
            if idle || out_of_time {
                let count = self.api.count_execs(binary, since, until)?;
                if count.recorded >= generated || last_count == Some(count.recorded) {
                    return Ok((count, true));
                }
                if out_of_time {
                    return Ok((count, false));
                }
                last_count = Some(count.recorded);
            }
            std::thread::sleep(POLL);
        }
    }
}
