//! Alerts for the terminal: one line, and the `sonde alerts` table.

use sonde_event::Alert;

/// `PRIORITY rule: output [ancestry]`.
pub fn line(a: &Alert) -> String {
    format!("{} {}: {}{}", a.priority, a.rule, a.output, ancestry(a))
}

/// ` tree=bash(812)<sshd(700)<systemd(1)` from the process up.
fn ancestry(a: &Alert) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(p) = &a.process {
        parts.push(format!("{}({})", p.comm, p.pid));
    }
    for anc in &a.ancestors {
        let name = anc.binary.rsplit('/').next().unwrap_or(&anc.binary);
        parts.push(format!("{name}({})", anc.pid));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" tree={}", parts.join("<"))
    }
}

pub fn header() -> String {
    format!(
        "{:31} {:13} {:<8} {:40} OUTPUT",
        "TIME", "PRIORITY", "PID", "RULE"
    )
}

pub fn row(a: &Alert) -> String {
    let pid = a
        .process
        .as_ref()
        .map_or_else(|| "-".to_string(), |p| p.pid.to_string());
    format!(
        "{:31} {:13} {:<8} {:40} {}{}",
        a.time.to_string(),
        a.priority.as_str(),
        pid,
        a.rule,
        a.output,
        ancestry(a)
    )
}
