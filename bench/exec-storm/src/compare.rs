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
    println!("{}", verdict(&with, args.goal_rate));
    Ok(())
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
            "goal NOT SHOWN: this machine spawned at most {fastest:.0} exec/s with the agent (< {goal}/s); 0 lost at {rate:.0} exec/s"
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
