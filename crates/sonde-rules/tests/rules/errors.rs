//! Every load error kind, with its exact `file:line:col: message`.

use sonde_rules::{load_sources, load_str, Source};

fn errs(yaml: &str) -> Vec<String> {
    match load_str("r.yaml", yaml) {
        Ok(_) => panic!("loaded:\n{yaml}"),
        Err(e) => e.lines(),
    }
}

fn one(yaml: &str) -> String {
    let e = errs(yaml);
    assert_eq!(e.len(), 1, "{e:#?}");
    e[0].clone()
}

#[test]
fn yaml_syntax() {
    assert_eq!(
        one("- rule: a\n  output: \"x\n"),
        "r.yaml:2:11: YAML syntax error: while scanning a quoted scalar, found unexpected end of stream"
    );
    assert_eq!(
        one("- rule: a\n  condition: [x\n- rule: b\n"),
        "r.yaml:3:7: YAML syntax error: illegal placement of ':' indicator"
    );
}

#[test]
fn not_a_rules_file() {
    assert_eq!(
        one("rule: a\n"),
        "r.yaml:1:1: a rules file is a sequence of `- rule:`, `- macro:` and `- list:` items, found a mapping"
    );
    assert_eq!(
        one("- foo: 1\n"),
        "r.yaml:1:3: expected a `rule`, `macro` or `list` item, found keys: foo"
    );
}

const OK_TAIL: &str = "  output: x\n  priority: WARNING\n";

#[test]
fn unknown_key() {
    let y = format!("- rule: a\n  condition: proc.name = sh\n  condtion: x\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:3:3: unknown key `condtion` in rule; expected one of rule, desc, condition, output, priority, tags, enabled, source, sequence, by, max_keys, action, dry_run"
    );
    let y = format!("- rule: a\n  condition: proc.name = sh\n  append: true\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:3:3: unknown key `append` in rule; `append` is not supported yet"
    );
}

#[test]
fn missing_keys() {
    assert_eq!(
        errs("- rule: a\n  desc: d\n"),
        vec![
            "r.yaml:1:3: rule `a` has no `priority`",
            "r.yaml:1:3: rule `a` has no `output`",
            "r.yaml:1:3: rule `a` has no `condition`",
        ]
    );
    assert_eq!(
        one("- macro: m\n"),
        "r.yaml:1:3: macro `m` has no `condition`"
    );
    assert_eq!(one("- list: l\n"), "r.yaml:1:3: list `l` has no `items`");
}

#[test]
fn unknown_priority() {
    assert_eq!(
        one("- rule: a\n  condition: proc.name = sh\n  output: x\n  priority: SEVERE\n"),
        "r.yaml:4:13: unknown priority `SEVERE` (expected one of EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL, DEBUG)"
    );
}

#[test]
fn condition_syntax_error_maps_to_the_file() {
    // Single line: column 14 is where the condition starts, `)` is 14 chars in.
    let y = format!("- rule: a\n  condition: proc.name = sh)\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:28: condition syntax error: unexpected `)` after a complete expression"
    );
    // Folded over lines: the error is on the third line of the condition.
    let y = format!(
        "- rule: a\n  condition: >\n    evt.type = execve\n    and proc.name in (sh, bash\n    and x\n{OK_TAIL}"
    );
    assert_eq!(
        one(&y),
        "r.yaml:5:5: condition syntax error: expected `,` or `)`, found `and`"
    );
    // Plain multi-line scalar.
    let y = format!("- rule: a\n  condition: evt.type = execve and\n    proc.name =\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:3:16: condition syntax error: expected a value, found end of condition"
    );
    // Quoted.
    let y = format!("- rule: a\n  condition: \"proc.name = = x\"\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:27: condition syntax error: expected a value, found `=`"
    );
}

#[test]
fn unknown_field() {
    let y = format!("- rule: a\n  condition: evt.type = execve and proc.nme = sh\n{OK_TAIL}");
    assert_eq!(one(&y), "r.yaml:2:36: unknown field `proc.nme`");
    let y = "- rule: a\n  condition: proc.name = sh\n  output: \"%proc.nme\"\n  priority: INFO\n";
    assert_eq!(one(y), "r.yaml:3:12: output: unknown field `proc.nme`");
    let y = format!("- rule: a\n  condition: proc.name[2] = sh\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:14: bad field index: `proc.name` takes no index"
    );
}

#[test]
fn unknown_macro_and_list() {
    let y = format!("- rule: a\n  condition: spawned_process and proc.name = sh\n{OK_TAIL}");
    assert_eq!(one(&y), "r.yaml:2:14: unknown macro `spawned_process`");
    let y = format!("- rule: a\n  condition: proc.name in shell_binaries\n{OK_TAIL}");
    assert_eq!(one(&y), "r.yaml:2:27: unknown list `shell_binaries`");
}

#[test]
fn macro_cycle() {
    let y = "- macro: a\n  condition: b and proc.name = x\n- macro: b\n  condition: proc.pid = 1 or a\n";
    assert_eq!(one(y), "r.yaml:4:30: macro cycle: a -> b -> a");
    let y = "- macro: a\n  condition: a\n";
    assert_eq!(one(y), "r.yaml:2:14: macro cycle: a -> a");
}

#[test]
fn errors_in_macros_are_reported_once() {
    let y = format!(
        "- macro: m\n  condition: proc.nme = x\n- rule: a\n  condition: m\n{OK_TAIL}- rule: b\n  condition: not m\n{OK_TAIL}"
    );
    assert_eq!(errs(&y), vec!["r.yaml:2:14: unknown field `proc.nme`"]);
}

#[test]
fn type_mismatch() {
    let y = format!("- rule: a\n  condition: proc.pid contains \"x\"\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:14: type mismatch: operator `contains` does not apply to `proc.pid`, which is a number"
    );
    let y = format!("- rule: a\n  condition: proc.pid = abc\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:25: type mismatch: `proc.pid` is a number, `abc` is not"
    );
    let y = format!("- rule: a\n  condition: proc.name > 3\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:14: type mismatch: operator `>` does not apply to `proc.name`, which is a string"
    );
    let y = format!("- rule: a\n  condition: evt.failed = yes\n{OK_TAIL}");
    assert_eq!(
        one(&y),
        "r.yaml:2:27: type mismatch: `evt.failed` is a bool, `yes` is neither true nor false"
    );
    let y = format!(
        "- list: ports\n  items: [22, ssh]\n- rule: a\n  condition: fd.dport in (ports)\n{OK_TAIL}"
    );
    assert_eq!(
        one(&y),
        "r.yaml:4:27: type mismatch: `fd.dport` is a number, `ssh` is not"
    );
}

#[test]
fn duplicate_rule() {
    let r = format!("- rule: a\n  condition: proc.name = sh\n{OK_TAIL}");
    let y = format!("{r}{r}");
    assert_eq!(
        one(&y),
        "r.yaml:5:9: duplicate rule `a` (first defined at line 1)"
    );
}

#[test]
fn sequence_errors() {
    let y = "- rule: s\n  by: proc.tree_id\n  sequence:\n    - condition: evt.type = execve\n    - condition: evt.type = connect\n      within: 5 days\n  output: x\n  priority: INFO\n";
    assert_eq!(
        one(y),
        "r.yaml:6:15: sequence: bad duration `5 days` (use e.g. 500ms, 5s, 2m, 1h)"
    );
    let y = "- rule: s\n  sequence:\n    - condition: evt.type = execve\n    - condition: evt.type = connect\n  output: x\n  priority: INFO\n";
    assert_eq!(
        errs(y),
        vec![
            "r.yaml:1:3: rule `s` has no `by`",
            "r.yaml:4:7: sequence: step 2 needs `within` (e.g. `within: 5s`)",
        ]
    );
    let y = "- rule: s\n  by: proc.tree\n  sequence: [{condition: evt.type = execve}]\n  output: x\n  priority: INFO\n";
    assert_eq!(
        errs(y),
        vec![
            "r.yaml:2:7: unknown field `proc.tree`",
            "r.yaml:3:13: sequence: a sequence needs at least two steps",
        ]
    );
}

#[test]
fn all_errors_are_reported_across_files() {
    let a = format!("- rule: a\n  condition: proc.nme = sh\n{OK_TAIL}");
    let b = "- rule: b\n  condition: proc.name = sh\n  output: x\n  priority: LOUD\n";
    let e = load_sources(&[
        Source {
            name: "a.yaml",
            text: &a,
        },
        Source {
            name: "b.yaml",
            text: b,
        },
    ])
    .unwrap_err();
    assert_eq!(
        e.lines(),
        vec![
            "a.yaml:2:14: unknown field `proc.nme`",
            "b.yaml:4:13: unknown priority `LOUD` (expected one of EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL, DEBUG)",
        ]
    );
}

#[test]
fn io_error_names_the_file() {
    let e = sonde_rules::load_files(&["/nonexistent/sonde-rules.yaml"]).unwrap_err();
    assert!(
        e.lines()[0].starts_with("/nonexistent/sonde-rules.yaml:1:1: cannot read file:"),
        "{e}"
    );
}

#[test]
fn reload_keeps_the_old_set_on_error() {
    use std::sync::Arc;
    let good = format!("- rule: a\n  condition: proc.name = sh\n{OK_TAIL}");
    let mut engine = sonde_rules::Engine::new(Arc::new(load_str("r.yaml", &good).unwrap()));
    let bad = format!("- rule: b\n  condition: proc.nme = sh\n{OK_TAIL}");
    if let Ok(set) = load_str("r.yaml", &bad) {
        engine.replace_rules(Arc::new(set));
    }
    assert_eq!(engine.rules().rules()[0].name, "a");
    let ev = crate::event::Ev::new("execve").s("proc.name", "sh");
    assert_eq!(engine.process(&ev).len(), 1);
}
