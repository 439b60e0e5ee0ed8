//! Storm results (the `--json` objects) as a human table, side by side.

use std::fmt::Write;

use serde_json::Value;

type Cell = fn(&Value) -> Option<String>;

/// The rows before this one describe the storm; the rest, the agent.
const AGENT_ROWS_FROM: usize = 5;

/// The rows: a label and how to render one run's cell (`None`: blank).
const ROWS: &[(&str, Cell)] = &[
    ("target rate", |r| Some(rate(r))),
    ("workers", |r| int(r, "/workers")),
    ("elapsed s", |r| float(r, "/elapsed_s", 2)),
    ("generated execs", |r| int(r, "/generated")),
    ("exec/s", |r| float(r, "/exec_per_s", 0)),
    ("recorded (storm binary, API)", |r| {
        int(r, "/agent/recorded")
    }),
    ("recorded / generated", |r| {
        float(r, "/agent/recorded_ratio", 5)
    }),
    ("missing (generated - recorded)", |r| {
        int(r, "/agent/missing")
    }),
    ("duplicates | outside window", |r| {
        Some(format!(
            "{} | {}",
            int(r, "/agent/duplicates")?,
            int(r, "/agent/outside_window")?
        ))
    }),
    ("counted losses: lost_total delta", |r| {
        int(r, "/agent/lost_total")
    }),
    ("  kernel_lost exec|exit|fork", |r| {
        let l = |k: &str| int(r, &format!("/agent/losses/kernel_lost_{k}"));
        Some(format!("{}|{}|{}", l("exec")?, l("exit")?, l("fork")?))
    }),
    ("  decode_errors", |r| int(r, "/agent/losses/decode_errors")),
    ("  queue_dropped", |r| int(r, "/agent/losses/queue_dropped")),
    ("  store_queue_dropped", |r| {
        int(r, "/agent/losses/store_queue_dropped")
    }),
    ("  store_failed_events", |r| {
        int(r, "/agent/losses/store_failed_events")
    }),
    ("  subscriber_lagged (not a loss)", |r| {
        int(r, "/agent/losses/subscriber_lagged")
    }),
    ("missing not explained by losses", |r| {
        int(r, "/agent/unexplained_missing")
    }),
    ("ring records exec|exit|fork", |r| {
        let n = |k: &str| int(r, &format!("/agent/records/{k}"));
        Some(format!("{}|{}|{}", n("exec")?, n("exit")?, n("fork")?))
    }),
    ("agent CPU % of one core (storm)", |r| {
        float(r, "/agent/cpu_pct_storm", 1)
    }),
    ("agent CPU s incl. drain", |r| {
        float(r, "/agent/cpu_s_incl_drain", 2)
    }),
    ("agent CPU us / exec", |r| {
        float(r, "/agent/cpu_us_per_exec", 2)
    }),
    ("kernel eBPF us / exec (3 programs)", |r| {
        float(r, "/bpf/us_per_exec", 3)
    }),
    ("kernel eBPF CPU % of 1 core (storm)", |r| {
        float(r, "/bpf/cpu_pct_storm", 2)
    }),
    ("  handle_exec runs|ns/run|CPU s", |r| {
        program(r, "handle_exec")
    }),
    ("  handle_fork runs|ns/run|CPU s", |r| {
        program(r, "handle_fork")
    }),
    ("  handle_exit runs|ns/run|CPU s", |r| {
        program(r, "handle_exit")
    }),
    ("stored bytes / exec event (storm)", |r| {
        float(r, "/agent/storm_exec_bytes_per_event", 1)
    }),
    ("stored bytes / exec event (store)", |r| {
        float(r, "/agent/exec_event_bytes", 1)
    }),
    ("file bytes / stored event", |r| {
        float(r, "/agent/file_bytes_per_event", 1)
    }),
    ("settle wait s", |r| {
        let s = float(r, "/agent/settle_s", 1)?;
        Some(if r.pointer("/agent/settled") == Some(&Value::Bool(true)) {
            s
        } else {
            format!("{s} (timeout)")
        })
    }),
];

/// The runs side by side; with `baseline`, a row of exec/s ratios to it.
pub fn table(runs: &[&Value], baseline: Option<&Value>) -> String {
    let mut out = String::new();
    let row = |out: &mut String, label: &str, cells: Vec<String>| {
        let _ = write!(out, "{label:<36}");
        for cell in cells {
            let _ = write!(out, "{cell:>20}");
        }
        out.push('\n');
    };
    let labels = runs
        .iter()
        .map(|r| r["label"].as_str().unwrap_or("?").to_string())
        .collect();
    row(&mut out, "", labels);
    let measured = runs.iter().any(|r| !r["agent"].is_null());
    let shown = if measured {
        ROWS.len()
    } else {
        AGENT_ROWS_FROM
    };
    for (i, (label, cell)) in ROWS[..shown].iter().enumerate() {
        row(
            &mut out,
            label,
            runs.iter().map(|r| cell(r).unwrap_or_default()).collect(),
        );
        if i == AGENT_ROWS_FROM - 1 {
            if let Some(base) = baseline {
                let ratios = runs.iter().map(|r| ratio(r, base)).collect();
                row(&mut out, "exec/s ratio with / without agent", ratios);
            }
        }
    }
    for r in runs {
        for warning in warnings(r) {
            let _ = writeln!(out, "{}: {warning}", r["label"].as_str().unwrap_or("?"));
        }
    }
    out
}

/// What looks wrong in one run.
pub fn warnings(r: &Value) -> Vec<String> {
    let mut w = Vec::new();
    let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let target = n("/target_rate") as f64;
    let reached = r["exec_per_s"].as_f64().unwrap_or(0.0);
    if target > 0.0 && reached < 0.97 * target {
        w.push(format!(
            "target rate not reached: {reached:.0}/s of {target:.0}/s"
        ));
    }
    if n("/spawn_failed") > 0 || n("/child_failed") > 0 {
        w.push(format!(
            "{} spawns failed, {} children exited non-zero",
            n("/spawn_failed"),
            n("/child_failed")
        ));
    }
    if r["agent"].is_null() {
        return w;
    }
    if n("/agent/unexplained_missing") > 0 {
        w.push(format!(
            "SUSPICIOUS: {} execs generated but not recorded, {} more than every counted loss that could be an exec ({}): uncounted loss",
            n("/agent/missing"),
            n("/agent/unexplained_missing"),
            n("/agent/exec_loss_bound"),
        ));
    } else if n("/agent/missing") > 0 {
        w.push(format!(
            "{} execs not recorded; the agent counted {} losses",
            n("/agent/missing"),
            n("/agent/lost_total")
        ));
    }
    if n("/agent/records/exec") < n("/generated") {
        w.push(format!(
            "the agent read {} exec records from the ring buffer for {} generated execs",
            n("/agent/records/exec"),
            n("/generated")
        ));
    }
    if n("/agent/duplicates") > 0 {
        w.push(format!(
            "SUSPICIOUS: {} exec events stored twice",
            n("/agent/duplicates")
        ));
    }
    if n("/agent/outside_window") > 0 {
        w.push(format!(
            "{} exec events of the storm binary stored outside the storm window",
            n("/agent/outside_window")
        ));
    }
    if n("/agent/foreign_lines") > 0 {
        w.push(format!(
            "the binary filter returned {} events of other binaries",
            n("/agent/foreign_lines")
        ));
    }
    let exec_runs = r.pointer("/bpf/programs/handle_exec/runs");
    if exec_runs.is_some_and(|runs| runs.as_u64() < Some(n("/generated"))) {
        w.push(format!(
            "eBPF statistics count {} handle_exec runs for {} generated execs (kernel.bpf_stats_enabled not 1?)",
            n("/bpf/programs/handle_exec/runs"),
            n("/generated")
        ));
    }
    if r.pointer("/agent/settled") != Some(&Value::Bool(true)) {
        w.push("the stored exec count was still rising when the wait timed out".into());
    }
    w
}

/// A run without loss: every exec recorded, nothing counted lost.
pub fn lossless(r: &Value) -> bool {
    let n = |p: &str| r.pointer(p).and_then(Value::as_u64);
    n("/agent/missing") == Some(0) && n("/agent/lost_total") == Some(0)
}

fn ratio(r: &Value, base: &Value) -> String {
    match (r["exec_per_s"].as_f64(), base["exec_per_s"].as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.3}", a / b),
        _ => String::new(),
    }
}

fn rate(r: &Value) -> String {
    match r["target_rate"].as_u64() {
        Some(0) | None => "max".into(),
        Some(n) => format!("{n}/s"),
    }
}

/// One eBPF program's runs, average ns per run and CPU seconds.
fn program(r: &Value, name: &str) -> Option<String> {
    let p = r.pointer(&format!("/bpf/programs/{name}"))?;
    let ns = float(p, "/ns_per_run", 0).unwrap_or_else(|| "-".into());
    Some(format!(
        "{}|{ns}|{}",
        int(p, "/runs")?,
        float(p, "/cpu_s", 3)?
    ))
}

fn int(r: &Value, pointer: &str) -> Option<String> {
    r.pointer(pointer)
        .and_then(Value::as_u64)
        .map(|n| n.to_string())
}

fn float(r: &Value, pointer: &str, decimals: usize) -> Option<String> {
    r.pointer(pointer)
        .and_then(Value::as_f64)
        .map(|x| format!("{x:.decimals$}"))
}
