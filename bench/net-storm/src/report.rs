//! Text output: one run, and `net-storm report`: the runs side by side.

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use crate::cli::ReportArgs;
use crate::{oracle_table, warnings};

pub fn emit(result: &Value, json: bool) {
    if json {
        println!("{result}");
        return;
    }
    let mut out = String::new();
    match result["kind"].as_str() {
        Some("oracle") => out.push_str(&oracle_table::render(result)),
        _ => {
            rates(&mut out, &[result], None);
            if !result["agent"].is_null() {
                agent(&mut out, result, result["kind"] == "conns");
            }
        }
    }
    for w in warnings::of(result) {
        let _ = writeln!(out, "{w}");
    }
    print!("{out}");
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let conns_without = read(&args.conns_without)?;
    let conns_with = read(&args.conns_with)?;
    let bulk_without = read(&args.bulk_without)?;
    let bulk_with = read(&args.bulk_with)?;
    let oracle = args.oracle.as_deref().map(read).transpose()?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "net-storm: TCP on loopback, {} CPUs; conns: {} s, {} connecting + {} accepting threads; bulk: {} s, {} B writes\n",
        conns_without["cpus"], conns_without["duration_s"], conns_without["workers"], conns_without["acceptors"], bulk_without["duration_s"], bulk_without["buffer"]
    );
    rates(
        &mut out,
        &[&conns_without, &conns_with],
        Some((&bulk_without, &bulk_with)),
    );
    out.push_str("\nsonde, connection storm:\n");
    agent(&mut out, &conns_with, true);
    out.push_str("\nsonde, bulk transfer:\n");
    agent(&mut out, &bulk_with, false);
    if let Some(o) = &oracle {
        out.push_str("\nsonde vs ss -tin (oracle):\n");
        out.push_str(&oracle_table::render(o));
    }
    let mut all = vec![&conns_without, &conns_with, &bulk_without, &bulk_with];
    all.extend(oracle.as_ref());
    let warned: Vec<String> = all.iter().flat_map(|r| warnings::of(r)).collect();
    if !warned.is_empty() {
        out.push_str("\nWARNINGS:\n");
        for w in warned {
            let _ = writeln!(out, "  {w}");
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        warnings::verdict(&conns_with, &conns_without, args.goal_rate)
    );
    print!("{out}");
    Ok(())
}

fn line(out: &mut String, label: &str, cells: &[String]) {
    let _ = write!(out, "{label:<44}");
    for cell in cells {
        let _ = write!(out, "{cell:>18}");
    }
    out.push('\n');
}

/// Rates of runs side by side; with a bulk pair, also throughput.
fn rates(out: &mut String, runs: &[&Value], bulk: Option<(&Value, &Value)>) {
    let labels: Vec<String> = runs.iter().map(|r| s(&r["label"])).collect();
    let with_ratio = runs.len() == 2;
    let ratio = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:.3}", b / a),
        _ => "-".into(),
    };
    let mut header = labels;
    if with_ratio {
        header.push("with / without".into());
    }
    line(out, "", &header);
    let key = if runs[0]["kind"] == "bulk" {
        "gbytes_per_s"
    } else {
        "conns_per_s"
    };
    let name = if key == "gbytes_per_s" {
        "throughput GB/s"
    } else {
        "connections/s"
    };
    let mut cells: Vec<String> = runs.iter().map(|r| f(&r[key], 2)).collect();
    if with_ratio {
        cells.push(ratio(&runs[0][key], &runs[1][key]));
    }
    line(out, name, &cells);
    if key == "conns_per_s" {
        let n: Vec<String> = runs.iter().map(|r| s(&r["connections"])).collect();
        line(out, "connections completed", &n);
        let failed = runs
            .iter()
            .map(|r| format!("{}/{}", s(&r["connect_failed"]), s(&r["io_failed"])))
            .collect::<Vec<_>>();
        line(out, "failed connects / failed exchanges", &failed);
    } else {
        let bytes: Vec<String> = runs.iter().map(|r| s(&r["bytes_sent"])).collect();
        line(out, "bytes sent", &bytes);
    }
    if let Some((without, with)) = bulk {
        let key = "gbytes_per_s";
        let cells = [
            f(&without[key], 2),
            f(&with[key], 2),
            ratio(&without[key], &with[key]),
        ];
        line(out, "bulk throughput GB/s (1 connection)", &cells);
    }
}

/// What the agent recorded, counted lost and spent in one run.
fn agent(out: &mut String, r: &Value, conns: bool) {
    let a = &r["agent"];
    let one = |out: &mut String, label: &str, v: String| line(out, label, &[v]);
    if conns {
        one(
            out,
            "final records / expected (2 per connection)",
            format!(
                "{} / {} = {}",
                s(&a["recorded"]),
                s(&a["expected"]),
                f(&a["recorded_ratio"], 6)
            ),
        );
        one(
            out,
            "missing (beyond every counted loss)",
            format!("{} ({})", s(&a["missing"]), s(&a["unexplained_missing"])),
        );
        one(
            out,
            "connect / accept / unknown direction",
            format!(
                "{}/{}/{}",
                s(&a["final_connect"]),
                s(&a["final_accept"]),
                s(&a["final_unknown_direction"])
            ),
        );
        one(
            out,
            "duplicates / not closed by FIN",
            format!("{}/{}", s(&a["duplicates"]), s(&a["not_closed_by_fin"])),
        );
        one(
            out,
            "owner: none / another process",
            format!("{}/{}", s(&a["without_process"]), s(&a["other_process"])),
        );
        one(
            out,
            "records with wrong bytes (1 byte one way)",
            s(&a["byte_mismatches"]),
        );
        one(
            out,
            "TCP records read from the ring (all ports)",
            s(&a["records_tcp"]),
        );
    } else {
        let rec = &a["records"];
        let side = |v: &Value| match v.is_null() {
            true => "none (or several)".to_string(),
            false => format!(
                "sent {} recv {}",
                s(&v["bytes_sent"]),
                s(&v["bytes_received"])
            ),
        };
        one(out, "bytes written by the program", s(&r["bytes_sent"]));
        one(out, "sonde connect record", side(&rec["connect"]));
        one(out, "sonde accept record", side(&rec["accept"]));
        one(out, "bytes exact both sides", s(&rec["exact"]));
    }
    one(out, "lost_total (delta)", s(&a["lost_total"]));
    let l = &a["losses"];
    one(out, "  kernel_lost.tcp", s(&l["kernel_lost_tcp"]));
    one(
        out,
        "  skipped runs of handle_tcp_state",
        s(&l["skipped_tcp_state_runs"]),
    );
    one(
        out,
        "  net.tcp_connections_untracked",
        s(&l["tcp_connections_untracked"]),
    );
    one(
        out,
        "  queue / store queue dropped, store failed",
        format!(
            "{}/{}/{}",
            s(&l["queue_dropped"]),
            s(&l["store_queue_dropped"]),
            s(&l["store_failed_events"])
        ),
    );
    one(out, "  decode errors", s(&l["decode_errors"]));
    // Not among sonde's counters: the kernel's (bpftool recursion_misses).
    let skipped = misses(&a["recursion_misses"]);
    one(out, "eBPF runs the kernel skipped (bpftool)", skipped);
    one(
        out,
        "agent CPU % of one core (during the run)",
        f(&a["cpu_pct_run"], 1),
    );
    if conns {
        one(
            out,
            "agent CPU us per connection (incl. drain)",
            f(&a["cpu_us_per_conn"], 2),
        );
    }
}

/// `{"handle_tcp_state": 3}` as `handle_tcp_state 3`; `0` when none.
pub fn misses(v: &Value) -> String {
    match v.as_object() {
        None => "- (no bpftool)".into(),
        Some(m) if m.is_empty() => "0".into(),
        Some(m) => m
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    }
}

pub fn f(v: &Value, decimals: usize) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.decimals$}"))
}

fn read(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(text.trim())
        .with_context(|| format!("{} is not one JSON object", path.display()))
}
