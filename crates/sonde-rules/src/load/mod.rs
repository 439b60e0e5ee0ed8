//! Loading: YAML text → validated [`RuleSet`], or every error found.
//!
//! Order of work: parse each file's YAML (with positions); sort the items into
//! lists, macros and rules; expand lists (an item naming a list defined *earlier*
//! is replaced by its items, as in Falco); parse macros, find macro cycles, compile
//! macros leaves-first; then parse, compile and check each rule. Items may use
//! macros defined later in the file or in a later file. Every error is reported
//! with `file:line:col`; a condition's error column is mapped back from the
//! condition text to the file, also inside folded (`>`) or multi-line scalars.
//!
//! Files: `mod.rs` (entry points, items, lists, macros), `ctx.rs` (error
//! collection and YAML shape checks), `rules.rs` (rule items and `sequence`).
//!
//! Reload = load a new set, swap it in on success, keep the old one on error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::compile::{macro_order, macro_refs, Compiler};
use crate::condition::Expr;
use crate::error::{ErrorKind, LoadErrors, Location, RuleError};
use crate::rule::RuleSet;
use crate::yaml::{self, Node, NodeKind};

mod ctx;
mod rules;

use ctx::{Ctx, Kv};

/// One rules text and the name errors should use for it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// File name for messages.
    pub name: &'a str,
    /// The YAML text.
    pub text: &'a str,
}

/// Loads one YAML text.
pub fn load_str(name: &str, text: &str) -> Result<RuleSet, LoadErrors> {
    load_sources(&[Source { name, text }])
}

/// Reads and loads files, in order (later files may use earlier lists and any macro).
pub fn load_files<P: AsRef<Path>>(paths: &[P]) -> Result<RuleSet, LoadErrors> {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let name = p.as_ref().display().to_string();
        match std::fs::read_to_string(p) {
            Ok(t) => texts.push((name, t)),
            Err(e) => errors.push(RuleError {
                location: Location {
                    file: name,
                    line: 1,
                    col: 1,
                },
                kind: ErrorKind::Io(e.to_string()),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    let sources: Vec<Source<'_>> = texts
        .iter()
        .map(|(n, t)| Source { name: n, text: t })
        .collect();
    load_sources(&sources)
}

/// Loads several texts as one rule set.
pub fn load_sources(sources: &[Source<'_>]) -> Result<RuleSet, LoadErrors> {
    let mut ctx = Ctx {
        names: sources.iter().map(|s| s.name.to_string()).collect(),
        chars: sources.iter().map(|s| s.text.chars().collect()).collect(),
        errors: Vec::new(),
    };
    let mut docs: Vec<Vec<Node>> = Vec::new();
    for (fi, s) in sources.iter().enumerate() {
        match yaml::parse(s.text) {
            Ok(d) => docs.push(d),
            Err(e) => {
                ctx.err(fi, e.pos, ErrorKind::Yaml(e.message));
                docs.push(Vec::new());
            }
        }
    }

    let (mut lists_raw, mut macros_raw, mut rules_raw): (Vec<Kv<'_>>, Vec<Kv<'_>>, Vec<Kv<'_>>) =
        Default::default();
    let mut canaries_raw: Vec<Kv<'_>> = Vec::new();
    for (fi, file_docs) in docs.iter().enumerate() {
        for doc in file_docs {
            let items = match &doc.kind {
                NodeKind::Seq(items) => items,
                NodeKind::Scalar { value, .. }
                    if value.is_empty() || value == "~" || value == "null" =>
                {
                    continue
                }
                _ => {
                    ctx.err(
                        fi,
                        doc.pos,
                        ErrorKind::Structure(format!(
                            "a rules file is a sequence of `- rule:`, `- macro:` and `- list:` items, found {}",
                            doc.kind_name()
                        )),
                    );
                    continue;
                }
            };
            for it in items {
                let NodeKind::Map(kv) = &it.kind else {
                    ctx.err(
                        fi,
                        it.pos,
                        ErrorKind::Structure(format!(
                            "expected a `rule`, `macro` or `list` mapping, found {}",
                            it.kind_name()
                        )),
                    );
                    continue;
                };
                let has = |k: &str| kv.iter().any(|(key, _)| key.as_str() == Some(k));
                if has("rule") {
                    rules_raw.push((fi, it, kv));
                } else if has("macro") {
                    macros_raw.push((fi, it, kv));
                } else if has("list") {
                    lists_raw.push((fi, it, kv));
                } else if has("canaries") {
                    canaries_raw.push((fi, it, kv));
                } else if has("required_engine_version") || has("required_plugin_versions") {
                    continue;
                } else {
                    let keys: Vec<&str> = kv.iter().filter_map(|(k, _)| k.as_str()).collect();
                    ctx.err(
                        fi,
                        it.pos,
                        ErrorKind::Structure(format!(
                            "expected a `rule`, `macro` or `list` item, found keys: {}",
                            keys.join(", ")
                        )),
                    );
                }
            }
        }
    }

    // Lists.
    let mut lists: HashMap<String, Vec<String>> = HashMap::new();
    let mut list_lines: HashMap<String, usize> = HashMap::new();
    for &(fi, node, kv) in &lists_raw {
        let k = ctx.keys(fi, kv, "list", &["list", "items"]);
        let Some(name) = k.get("list").and_then(|n| ctx.scalar(fi, n, "list")) else {
            continue;
        };
        let Some(items_node) = k.get("items") else {
            ctx.err(
                fi,
                node.pos,
                ErrorKind::MissingKey {
                    key: "items",
                    item: "list",
                    name: name.to_string(),
                },
            );
            continue;
        };
        let Some(raw) = ctx.string_list(fi, items_node, "items") else {
            continue;
        };
        if let Some(&first_line) = list_lines.get(name) {
            ctx.err(
                fi,
                k["list"].pos,
                ErrorKind::Duplicate {
                    item: "list",
                    name: name.to_string(),
                    first_line,
                },
            );
            continue;
        }
        let mut items = Vec::new();
        for i in raw {
            match lists.get(&i) {
                Some(inner) => items.extend(inner.iter().cloned()),
                None => items.push(i),
            }
        }
        list_lines.insert(name.to_string(), node.pos.line);
        lists.insert(name.to_string(), items);
    }

    // Macros: parse.
    let mut macro_names = HashSet::new();
    let mut macro_lines: HashMap<String, usize> = HashMap::new();
    let mut macro_defs: BTreeMap<String, (usize, &Node, Option<Expr>)> = BTreeMap::new();
    for &(fi, node, kv) in &macros_raw {
        let k = ctx.keys(fi, kv, "macro", &["macro", "condition"]);
        let Some(name) = k.get("macro").and_then(|n| ctx.scalar(fi, n, "macro")) else {
            continue;
        };
        if let Some(&first_line) = macro_lines.get(name) {
            ctx.err(
                fi,
                k["macro"].pos,
                ErrorKind::Duplicate {
                    item: "macro",
                    name: name.to_string(),
                    first_line,
                },
            );
            continue;
        }
        macro_lines.insert(name.to_string(), node.pos.line);
        macro_names.insert(name.to_string());
        let Some(cond) = k.get("condition") else {
            ctx.err(
                fi,
                node.pos,
                ErrorKind::MissingKey {
                    key: "condition",
                    item: "macro",
                    name: name.to_string(),
                },
            );
            continue;
        };
        let ast = ctx.condition(fi, cond);
        macro_defs.insert(name.to_string(), (fi, *cond, ast));
    }

    // Macros: cycles, then compile leaves first.
    let refs: BTreeMap<String, Vec<(String, usize)>> = macro_defs
        .iter()
        .map(|(name, (_, _, ast))| {
            let mut r = Vec::new();
            if let Some(a) = ast {
                macro_refs(a, &mut r);
            }
            r.retain(|(n, _)| macro_defs.contains_key(n));
            (name.clone(), r)
        })
        .collect();
    let (order, cycles) = macro_order(&refs);
    for c in cycles {
        if let Some((fi, node, _)) = macro_defs.get(&c.at_macro) {
            ctx.err_in(*fi, node, c.offset, ErrorKind::MacroCycle(c.chain));
        }
    }
    let mut compiler = Compiler {
        lists: &lists,
        macro_names: &macro_names,
        macros: HashMap::new(),
    };
    for name in order {
        let Some((fi, node, Some(ast))) = macro_defs.get(&name) else {
            continue;
        };
        if let Some(p) = ctx.compile(&compiler, *fi, node, ast) {
            compiler.macros.insert(name, p);
        }
    }

    let rules = rules::load_rules(&mut ctx, &compiler, &rules_raw);
    let canaries = canaries(&mut ctx, &canaries_raw);

    if ctx.errors.is_empty() {
        return Ok(RuleSet::new(rules).with_canaries(canaries));
    }
    let mut errors = ctx.errors;
    errors.sort_by_key(|(fi, e)| (*fi, e.location.line, e.location.col));
    errors.dedup();
    Err(LoadErrors(errors.into_iter().map(|(_, e)| e).collect()))
}

/// `- canaries: [/path, ...]`: honeytoken paths, each absolute.
fn canaries(ctx: &mut Ctx, raw: &[Kv<'_>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for &(fi, _, kv) in raw {
        let k = ctx.keys(fi, kv, "canaries item", &["canaries"]);
        let Some(node) = k.get("canaries") else {
            continue;
        };
        let Some(paths) = ctx.string_list(fi, node, "canaries") else {
            continue;
        };
        for p in paths {
            if !p.starts_with('/') || p.contains('\0') {
                ctx.err(
                    fi,
                    node.pos,
                    ErrorKind::Structure(format!("canary `{p}` must be an absolute path")),
                );
            } else if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_items_in_any_order_across_sources() {
        let a = "- rule: r\n  condition: m and proc.name in (l2)\n  output: x\n  priority: INFO\n";
        let b = "- list: l1\n  items: [a]\n- list: l2\n  items: [l1, b]\n- macro: m\n  condition: evt.type = execve\n";
        let set =
            load_sources(&[Source { name: "a", text: a }, Source { name: "b", text: b }]).unwrap();
        assert_eq!(set.rules().len(), 1);
    }

    #[test]
    fn canaries_actions_and_dry_run_load() {
        let y = "- canaries: [/root/.aws/credentials.bak, /etc/fake-key]\n- rule: k\n  condition: evt.type = execve and proc.name = xmrig\n  output: x\n  priority: CRITICAL\n  action: kill\n  dry_run: true\n";
        let set = load_str("f", y).unwrap();
        assert_eq!(
            set.canaries(),
            ["/root/.aws/credentials.bak", "/etc/fake-key"]
        );
        let r = &set.rules()[0];
        assert_eq!(r.action, Some(crate::RuleAction::Kill));
        assert!(r.dry_run);
        let bad = "- canaries: [relative]\n- rule: k\n  condition: proc.name = x\n  output: x\n  priority: INFO\n  action: explode\n  dry_run: maybe\n";
        let e = load_str("f", bad).unwrap_err();
        assert_eq!(
            e.lines(),
            vec![
                "f:1:13: canary `relative` must be an absolute path",
                "f:6:11: unknown action `explode` (expected kill or deny-connect)",
                "f:7:12: `dry_run` must be true or false",
            ]
        );
        let orphan = "- rule: k\n  condition: proc.name = x\n  output: x\n  priority: INFO\n  dry_run: true\n";
        assert_eq!(
            load_str("f", orphan).unwrap_err().lines(),
            vec!["f:5:12: `dry_run` applies only to rules with an `action`"]
        );
    }

    #[test]
    fn errors_come_sorted_by_file_and_position() {
        let y = "- rule: b\n  condition: proc.nme = 1\n  output: x\n  priority: NOPE\n";
        let e = load_str("f", y).unwrap_err();
        let lines: Vec<usize> = e.0.iter().map(|e| e.location.line).collect();
        assert_eq!(lines, vec![2, 4]);
    }

    #[test]
    fn both_condition_and_sequence_is_an_error() {
        let y = "- rule: b\n  condition: proc.name = x\n  sequence: []\n  output: x\n  priority: INFO\n";
        let e = load_str("f", y).unwrap_err();
        assert_eq!(
            e.lines(),
            vec!["f:3:13: sequence: a rule has either `condition` or `sequence`, not both"]
        );
    }
}
