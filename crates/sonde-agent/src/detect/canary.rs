//! Canary files (honeytokens): paths nobody should touch. Any access to one
//! alerts at EMERGENCY priority with the full process tree.
//!
//! The canaries become one generated rule, loaded with the others, over every
//! file operation on the path (`fd.name`, or a rename's `evt.arg.newpath`)
//! and over an exec of it.

/// The generated rule's source name (in errors and alert origins).
pub const SOURCE_NAME: &str = "builtin:canaries";
/// The generated rule's name.
pub const RULE_NAME: &str = "Canary file accessed";

fn quote(p: &str) -> String {
    let mut out = String::from("\"");
    for c in p.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The rule for these paths, as rules YAML.
pub fn rules_yaml(paths: &[String]) -> String {
    let set = paths
        .iter()
        .map(|p| quote(p))
        .collect::<Vec<_>>()
        .join(", ");
    // YAML single-quoted scalar: only `'` needs doubling.
    let cond = format!(
        "fd.name in ({set}) or evt.arg.newpath in ({set}) or (evt.type = execve and proc.exepath in ({set}))"
    )
    .replace('\'', "''");
    format!(
        "- rule: {RULE_NAME}\n  desc: a honeytoken path was accessed\n  condition: '{cond}'\n  output: 'Canary file accessed (file=%fd.name newpath=%evt.arg.newpath op=%evt.type proc=%proc.name pid=%proc.pid exe=%proc.exepath cmdline=%proc.cmdline parent=%proc.pname gparent=%proc.aname[2] ggparent=%proc.aname[3] user=%user.name container=%container.id)'\n  priority: EMERGENCY\n  tags: [canary, honeytoken, mitre_credential_access]\n"
    )
}

/// The file collector's prefixes with every canary not already below one.
pub fn watch_paths(prefixes: &[String], canaries: &[String]) -> Vec<String> {
    let mut out = prefixes.to_vec();
    for c in canaries {
        let covered = out.iter().any(|p| {
            let p = p.trim_end_matches('/');
            c == p || c.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')) || p.is_empty()
        });
        if !covered {
            out.push(c.clone());
        }
    }
    out
}
