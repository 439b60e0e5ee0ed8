//! `exec-storm compare`: storms without and with the agent, side by side,
//! and whether the loss goal holds.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use crate::cli::CompareArgs;
use crate::report;

pub fn run(args: &CompareArgs) -> anyhow::Result<()> {
    let without = read(&args.without)?;
    let with = args
        .with
        .iter()
        .map(|p| read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut runs = vec![&without];
    runs.extend(&with);
    println!(
        "exec storm, {} CPUs; child: {} ({})\n",
        without["cpus"],
        without["exe_kind"].as_str().unwrap_or("?"),
        without["exe"].as_str().unwrap_or("?"),
    );
    print!("{}", report::table(&runs, Some(&without)));
    println!();
    println!(
        "capacity estimate: the exec/s at which the agent process's CPU (user+sys) per exec\n\
         would fill one core, 1e6 / agent CPU us per exec; an estimate from measured\n\
         per-exec costs, not a measured rate:"
    );
    for run in &with {
        if let Some(line) = capacity(run) {
            println!("  {line}");
        }
    }
    println!("{}", verdict(&with, args.goal_rate));
    Ok(())
}

/// The exec rate at which the agent's CPU time per exec adds up to one
/// core, next to the rate measured, its losses and the kernel-side cost.
fn capacity(r: &Value) -> Option<String> {
    let us = r.pointer("/agent/cpu_us_per_exec")?.as_f64()?;
    let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let loss = if report::lossless(r) {
        "0 lost".to_string()
    } else {
        let (missing, lost) = (n("/agent/missing"), n("/agent/lost_total"));
        format!("{missing} missing, {lost} counted lost")
    };
    let kernel = r.pointer("/bpf/us_per_exec").and_then(Value::as_f64);
    let kernel = kernel.map_or(String::new(), |k| {
        format!("; plus {k:.2} us/exec of kernel eBPF time on the exec'ing CPUs")
    });
    Some(format!(
        "{}: ~{:.0} exec/s (1e6 / {us:.2} us); measured {:.0} exec/s, {loss}{kernel}",
        r["label"].as_str().unwrap_or("?"),
        1e6 / us,
        r["exec_per_s"].as_f64().unwrap_or(0.0),
    ))
}

/// Goal: 0 lost at >= `goal` exec/s. Reports the highest lossless rate.
fn verdict(with: &[Value], goal: u64) -> String {
    let best = with
        .iter()
        .filter(|r| report::lossless(r))
        .filter_map(|r| r["exec_per_s"].as_f64())
        .fold(None, |best: Option<f64>, x| {
            Some(best.map_or(x, |b| b.max(x)))
        });
    let fastest = with
        .iter()
        .filter_map(|r| r["exec_per_s"].as_f64())
        .fold(0.0, f64::max);
    match best {
        Some(rate) if rate >= goal as f64 => {
            format!("goal MET: 0 lost (and every exec recorded) at {rate:.0} exec/s >= {goal}/s")
        }
        Some(rate) if fastest < goal as f64 => format!(
            "goal NOT SHOWN: this machine spawned at most {fastest:.0} exec/s with the agent (< {goal}/s); measured 0 lost at {rate:.0} exec/s (the capacity above is an estimate, not a measurement)"
        ),
        Some(rate) => format!("goal NOT MET: 0 lost only up to {rate:.0} exec/s (< {goal}/s)"),
        None => format!("goal NOT MET: every storm with the agent lost or missed execs (fastest {fastest:.0} exec/s)"),
    }
}

fn read(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(text.trim())
        .with_context(|| format!("{} is not one JSON object", path.display()))
}
