//! The oracle's result as a table: per socket, the program's byte counts,
//! ss's (before close) and sonde's (at close), and segment differences.

use std::fmt::Write;

use serde_json::Value;

use crate::report::s;

pub fn render(r: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} connections on 127.0.0.1:{}; ss read before close; odd conn: client closes first, even: server; the other side {} ms later",
        s(&r["connections"]), s(&r["port"]), s(&r["close_gap_ms"])
    );
    let _ = writeln!(
        out,
        "{:>4} {:<6} {:>5} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>4} {:>5} {:>3} | {:>4} {:>5} {:>3} | {:<11}",
        "conn", "side", "first", "sent", "ss", "sonde", "recv", "ss", "sonde",
        "o.ss", "sonde", "d", "i.ss", "sonde", "d", "sonde state"
    );
    for row in r["rows"].as_array().into_iter().flatten() {
        let n = |k: &str| s(&row[k]);
        let exact = ["ss_sent", "sonde_sent"]
            .iter()
            .all(|k| row[k] == row["sent"])
            && ["ss_received", "sonde_received"]
                .iter()
                .all(|k| row[k] == row["received"]);
        let _ = writeln!(
            out,
            "{:>4} {:<6} {:>5} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>4} {:>5} {:>3} | {:>4} {:>5} {:>3} | {:<11}{}",
            n("conn"), n("side"), if row["closed_first"] == true { "yes" } else { "" },
            n("sent"), n("ss_sent"), n("sonde_sent"),
            n("received"), n("ss_received"), n("sonde_received"),
            n("ss_segs_out"), n("sonde_segs_out"), n("segs_out_diff"),
            n("ss_segs_in"), n("sonde_segs_in"), n("segs_in_diff"),
            n("state"), if exact { "" } else { "  <== BYTES MISMATCH" },
        );
    }
    let m = &r["summary"];
    let _ = writeln!(
        out,
        "(sent: ss bytes_sent - bytes_retrans; o./i.: segments out/in; d: sonde - ss)"
    );
    let mismatched = m["bytes_mismatched"].as_array().map_or(0, Vec::len);
    if mismatched == 0 {
        let _ = writeln!(
            out,
            "bytes: {}/{} sockets exact (program = ss = sonde, both ways)",
            s(&m["bytes_exact"]),
            s(&m["sockets"])
        );
    } else {
        let _ = writeln!(
            out,
            "BYTES MISMATCH: {mismatched} of {} sockets differ: {}",
            s(&m["sockets"]),
            m["bytes_mismatched"]
                .as_array()
                .into_iter()
                .flatten()
                .map(s)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if mismatched > 0 {
        out.push_str(&pattern(r));
    }
    let _ = write!(
        out,
        "segments, sonde - ss: out {}, in {}",
        s(&m["segs_out_diff_range"]),
        s(&m["segs_in_diff_range"])
    );
    if m["segs_consistent_with_teardown"] == true {
        out.push_str(": every difference is 0..2, consistent with the FIN/ACK teardown segments exchanged after the ss snapshot\n");
    } else {
        out.push_str(
            ": NOT all within 0..2 - more than the teardown explains (or records missing)\n",
        );
    }
    out
}

/// What the mismatched sockets have in common, when it is the pattern of
/// a socket that closed first and reached CLOSE before the peer's FIN.
fn pattern(r: &Value) -> String {
    let rows = r["rows"].as_array().into_iter().flatten();
    let bad: Vec<&Value> = rows
        .filter(|row| {
            !(row["sonde_sent"] == row["sent"] && row["sonde_received"] == row["received"])
        })
        .collect();
    let short_by_one = |row: &&Value| {
        row["sonde_sent"] == row["sent"]
            && row["sonde_received"].as_u64().map(|n| n + 1) == row["received"].as_u64()
            && row["closed_first"] == true
            && row["state"] == "FIN_WAIT2"
    };
    if !bad.is_empty() && bad.iter().all(short_by_one) {
        format!(
            "  all {} sonde mismatches: bytes received 1 short, on sockets that closed first and whose final record was made in FIN_WAIT2 (before the peer's FIN arrived)\n",
            bad.len()
        )
    } else {
        String::new()
    }
}
