use crate::harness::{is_root, run, run_as_nobody};

#[test]
fn doctor_reports_hooks_and_capabilities_as_json() {
    if !is_root() {
        return;
    }
    let out = run(&["doctor", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the process collector can run here"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["root"], true);
    assert_eq!(report["btf"]["available"], true);
    let process = &report["collectors"][0];
    assert_eq!(process["name"], "process");
    assert_eq!(process["ready"], true);
    let hooks: Vec<String> = process["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h["kind"].as_str().unwrap(),
                h["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        hooks,
        [
            "raw_tracepoint sched_process_fork",
            "tracepoint sched:sched_process_exec",
            "tracepoint sched:sched_process_exit"
        ]
    );
    let network = &report["collectors"][1];
    assert_eq!(network["name"], "network");
    assert_eq!(network["ready"], true);
    let network_hooks: Vec<&str> = network["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert!(
        network_hooks.contains(&"inet_sock_set_state") && network_hooks.contains(&"skb:kfree_skb")
    );
    let types = report["program_types"].as_array().unwrap();
    let available = |name: &str| {
        let t = types
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} probed"));
        assert!(!t["detail"].as_str().unwrap().is_empty(), "{name} says why");
        t["available"].as_bool().unwrap()
    };
    assert!(available("tracepoint") && available("raw_tracepoint"));
    // Whatever this kernel says of the optional accelerators, the note agrees.
    let missing: Vec<&str> = ["kprobe", "fentry", "lsm"]
        .into_iter()
        .filter(|c| !available(c))
        .collect();
    let notes = process["notes"].to_string();
    for m in &missing {
        assert!(notes.contains(m), "note names {m}: {notes}");
    }
}

#[test]
fn doctor_without_root_says_what_it_could_not_probe() {
    if !is_root() {
        return;
    }
    let out = run_as_nobody(&["doctor"]);
    assert_eq!(out.status.code(), Some(1), "no collector can run");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NOT as root"), "{text}");
    assert!(text.contains("not probed: needs root"), "{text}");
    assert!(text.contains("CANNOT RUN"), "{text}");
}
