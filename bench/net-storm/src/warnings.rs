//! What looks wrong in a run, and whether the loss goal holds.

use serde_json::Value;

use crate::report::{misses, s};

fn n(r: &Value, pointer: &str) -> u64 {
    r.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

pub fn of(r: &Value) -> Vec<String> {
    let label = s(&r["label"]);
    let mut w = Vec::new();
    if n(r, "/connect_failed") + n(r, "/io_failed") > 0 {
        w.push(format!(
            "{} failed connects, {} failed exchanges (first: {})",
            n(r, "/connect_failed"),
            n(r, "/io_failed"),
            s(&r["first_error"])
        ));
    }
    if !r["agent"].is_null() {
        agent(r, &mut w);
    }
    w.into_iter().map(|w| format!("{label}: {w}")).collect()
}

fn agent(r: &Value, w: &mut Vec<String>) {
    let a = |p: &str| n(r, &format!("/agent{p}"));
    if a("/unexplained_missing") > 0 {
        w.push(format!(
            "SUSPICIOUS: {} final records missing, {} beyond every counted loss that could be a TCP record ({}): uncounted loss",
            a("/missing"), a("/unexplained_missing"), a("/tcp_loss_bound")
        ));
        if a("/recursion_misses/handle_tcp_state") > 0 {
            w.push(format!(
                "  evidence: the kernel skipped sonde's programs during the run (another eBPF program was running on that CPU): {}",
                misses(&r["agent"]["recursion_misses"])
            ));
        }
    } else if a("/missing") > 0 {
        w.push(format!(
            "{} final records missing; the agent counted {} lost",
            a("/missing"),
            a("/lost_total")
        ));
    }
    if a("/surplus") > 0 || a("/duplicates") > 0 {
        w.push(format!(
            "SUSPICIOUS: {} records more than 2 per connection, {} duplicates",
            a("/surplus"),
            a("/duplicates")
        ));
    }
    if a("/byte_mismatches") > 0 {
        w.push(format!(
            "SUSPICIOUS: {} records with wrong byte counts (connect should be sent=1 received=0, accept sent=0 received=1): {}",
            a("/byte_mismatches"), r["agent"]["byte_mismatch_kinds"]
        ));
    }
    if a("/not_closed_by_fin") > 0 || a("/final_unknown_direction") > 0 {
        w.push(format!(
            "{} records not ended by FIN, {} with direction unknown",
            a("/not_closed_by_fin"),
            a("/final_unknown_direction")
        ));
    }
    if a("/lost_total") > 0 {
        w.push(format!(
            "the agent counted {} losses (lost_total delta): {}",
            a("/lost_total"),
            r["agent"]["losses"]
        ));
    }
    if r["kind"] == "bulk" && r.pointer("/agent/records/exact") != Some(&Value::Bool(true)) {
        w.push(format!(
            "SUSPICIOUS: sonde's records of the bulk connection do not match {} bytes sent / {} received: {}",
            s(&r["bytes_sent"]), s(&r["bytes_received"]), r["agent"]["records"]
        ));
    }
    if r["kind"] == "oracle" {
        let m = &r["summary"];
        if m["bytes_mismatched"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
        {
            w.push(format!(
                "BYTES MISMATCH between sonde, ss and the program on {}",
                m["bytes_mismatched"]
            ));
        }
        if n(m, "/without_record") > 0 {
            w.push(format!(
                "{} sockets without exactly one final record",
                n(m, "/without_record")
            ));
        }
        if m["segs_consistent_with_teardown"] != true {
            w.push("segment differences beyond 0..2 (see the oracle table)".into());
        }
    }
    if r.pointer("/agent/settled") == Some(&Value::Bool(false)) {
        w.push("the agent's pipeline was still moving when the wait timed out".into());
    }
}

/// Goal: 0 lost at >= `goal` connections/s.
/// `without`: the same storm without the agent, for what the machine reaches.
pub fn verdict(with: &Value, without: &Value, goal: u64) -> String {
    let rate = with["conns_per_s"].as_f64().unwrap_or(0.0);
    let missing = n(with, "/agent/missing");
    let lost = n(with, "/agent/lost_total");
    let lossless = with["agent"].is_object() && missing == 0 && lost == 0;
    let cpus = s(&with["cpus"]);
    let verdict = match (lossless, rate >= goal as f64) {
        (true, true) => format!("goal MET: 0 lost, every connection recorded twice, at {rate:.0} connections/s >= {goal}/s"),
        (true, false) => format!(
            "goal NOT SHOWN: this {cpus}-CPU machine reached {rate:.0} connections/s with the agent (< {goal}/s); at that rate 0 lost and every connection recorded twice"
        ),
        (false, _) => format!(
            "goal NOT MET: at {rate:.0} connections/s, {missing} final records missing, {lost} counted lost"
        ),
    };
    let base = without["conns_per_s"].as_f64().unwrap_or(0.0);
    if base < goal as f64 {
        format!("{verdict}\n(without the agent this machine reached {base:.0} connections/s: the goal rate is out of its reach either way)")
    } else {
        verdict
    }
}
