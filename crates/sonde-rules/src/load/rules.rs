//! Rule items: keys, priority, output, tags, `enabled`, and either a
//! `condition` or a `sequence` with `by`/`within`/`max_keys`.

use std::collections::HashMap;

use super::ctx::{Ctx, Kv};
use crate::compile::Compiler;
use crate::error::ErrorKind;
use crate::fields::{resolve, ResolveError};
use crate::output::Template;
use crate::rule::{Matcher, Priority, Rule, RuleAction};
use crate::sequence::{parse_duration, SequenceSpec, Step, DEFAULT_MAX_KEYS};
use crate::yaml::{Node, NodeKind};

/// Validates and compiles rule items; errors go to `ctx`, valid rules are returned.
pub(super) fn load_rules(
    ctx: &mut Ctx,
    compiler: &Compiler<'_>,
    rules_raw: &[Kv<'_>],
) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut rule_lines: HashMap<String, usize> = HashMap::new();
    const RULE_KEYS: &[&str] = &[
        "rule",
        "desc",
        "condition",
        "output",
        "priority",
        "tags",
        "enabled",
        "source",
        "sequence",
        "by",
        "max_keys",
        "action",
        "dry_run",
    ];
    for &(fi, node, kv) in rules_raw {
        let k = ctx.keys(fi, kv, "rule", RULE_KEYS);
        let Some(name) = k.get("rule").and_then(|n| ctx.scalar(fi, n, "rule")) else {
            continue;
        };
        let mut ok = true;
        if let Some(&first_line) = rule_lines.get(name) {
            ctx.err(
                fi,
                k["rule"].pos,
                ErrorKind::Duplicate {
                    item: "rule",
                    name: name.to_string(),
                    first_line,
                },
            );
            ok = false;
        } else {
            rule_lines.insert(name.to_string(), node.pos.line);
        }
        let missing = |ctx: &mut Ctx, key: &'static str| {
            ctx.err(
                fi,
                node.pos,
                ErrorKind::MissingKey {
                    key,
                    item: "rule",
                    name: name.to_string(),
                },
            );
        };
        let desc = match k.get("desc") {
            Some(n) => ctx.scalar(fi, n, "desc").unwrap_or_default().to_string(),
            None => String::new(),
        };
        if let Some(src) = k.get("source") {
            if ctx
                .scalar(fi, src, "source")
                .is_some_and(|s| s != "syscall")
            {
                ctx.err(
                    fi,
                    src.pos,
                    ErrorKind::Structure("only `source: syscall` rules are supported".into()),
                );
                ok = false;
            }
        }
        let priority = match k.get("priority") {
            None => {
                missing(ctx, "priority");
                None
            }
            Some(n) => match ctx.scalar(fi, n, "priority") {
                Some(s) => match s.parse::<Priority>() {
                    Ok(p) => Some(p),
                    Err(()) => {
                        ctx.err(fi, n.pos, ErrorKind::UnknownPriority(s.to_string()));
                        None
                    }
                },
                None => None,
            },
        };
        let output = match k.get("output") {
            None => {
                missing(ctx, "output");
                None
            }
            Some(n) => ctx
                .scalar(fi, n, "output")
                .and_then(|s| match Template::parse(s) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        ctx.err_in(fi, n, e.offset, ErrorKind::Output(e.message));
                        None
                    }
                }),
        };
        let tags = match k.get("tags") {
            Some(n) => match ctx.string_list(fi, n, "tags") {
                Some(t) => t,
                None => {
                    ok = false;
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let enabled = match k.get("enabled") {
            None => Some(true),
            Some(n) => ctx.flag(fi, n, "enabled"),
        };
        ok &= enabled.is_some();
        let enabled = enabled.unwrap_or(true);
        let action = match k.get("action") {
            None => None,
            Some(n) => match ctx
                .scalar(fi, n, "action")
                .map(|s| (s, s.parse::<RuleAction>()))
            {
                Some((_, Ok(a))) => Some(a),
                Some((s, Err(()))) => {
                    ctx.err(
                        fi,
                        n.pos,
                        ErrorKind::Structure(format!(
                            "unknown action `{s}` (expected kill or deny-connect)"
                        )),
                    );
                    ok = false;
                    None
                }
                None => {
                    ok = false;
                    None
                }
            },
        };
        let dry_run = match k.get("dry_run") {
            None => Some(false),
            Some(n) => ctx.flag(fi, n, "dry_run"),
        };
        ok &= dry_run.is_some();
        let dry_run = dry_run.unwrap_or(false);
        if let (None, Some(n)) = (action, k.get("dry_run")) {
            if ok {
                ctx.err(
                    fi,
                    n.pos,
                    ErrorKind::Structure("`dry_run` applies only to rules with an `action`".into()),
                );
                ok = false;
            }
        }
        let matcher = match (k.get("condition"), k.get("sequence")) {
            (Some(_), Some(s)) => {
                ctx.err(
                    fi,
                    s.pos,
                    ErrorKind::Sequence(
                        "a rule has either `condition` or `sequence`, not both".into(),
                    ),
                );
                None
            }
            (None, None) => {
                missing(ctx, "condition");
                None
            }
            (Some(c), None) => {
                if let Some(by) = k.get("by") {
                    ctx.err(
                        fi,
                        by.pos,
                        ErrorKind::Sequence("`by` applies only to rules with a `sequence`".into()),
                    );
                    ok = false;
                }
                let ast = ctx.condition(fi, c);
                ast.and_then(|a| ctx.compile(compiler, fi, c, &a))
                    .map(Matcher::Condition)
            }
            (None, Some(s)) => sequence(ctx, compiler, fi, node, s, &k, name),
        };
        if let (true, Some(priority), Some(output), Some(matcher)) = (ok, priority, output, matcher)
        {
            rules.push(Rule {
                name: name.to_string(),
                desc,
                priority,
                tags,
                enabled,
                matcher,
                output,
                origin: format!("{}:{}", ctx.names[fi], node.pos.line),
                action,
                dry_run,
            });
        }
    }

    rules
}

fn sequence(
    ctx: &mut Ctx,
    compiler: &Compiler<'_>,
    fi: usize,
    rule_node: &Node,
    seq: &Node,
    k: &HashMap<&str, &Node>,
    name: &str,
) -> Option<Matcher> {
    let mut ok = true;
    let by = match k.get("by") {
        None => {
            ctx.err(
                fi,
                rule_node.pos,
                ErrorKind::MissingKey {
                    key: "by",
                    item: "rule",
                    name: name.to_string(),
                },
            );
            None
        }
        Some(n) => ctx.scalar(fi, n, "by").and_then(|s| match resolve(s) {
            Ok(f) => Some(f),
            Err(ResolveError::Unknown(f)) => {
                ctx.err(fi, n.pos, ErrorKind::UnknownField(f));
                None
            }
            Err(ResolveError::BadIndex(m)) => {
                ctx.err(fi, n.pos, ErrorKind::BadIndex(m));
                None
            }
        }),
    };
    let max_keys = match k.get("max_keys") {
        None => DEFAULT_MAX_KEYS,
        Some(n) => match n
            .as_str()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&m| m > 0)
        {
            Some(m) => m,
            None => {
                ctx.err(
                    fi,
                    n.pos,
                    ErrorKind::Sequence("`max_keys` must be a positive integer".into()),
                );
                ok = false;
                DEFAULT_MAX_KEYS
            }
        },
    };
    let NodeKind::Seq(items) = &seq.kind else {
        ctx.err(
            fi,
            seq.pos,
            ErrorKind::Sequence(format!(
                "`sequence` must be a list of steps, found {}",
                seq.kind_name()
            )),
        );
        return None;
    };
    if items.len() < 2 {
        ctx.err(
            fi,
            seq.pos,
            ErrorKind::Sequence("a sequence needs at least two steps".into()),
        );
        return None;
    }
    let mut steps = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let NodeKind::Map(kv) = &it.kind else {
            ctx.err(
                fi,
                it.pos,
                ErrorKind::Sequence(format!(
                    "a step must be a mapping, found {}",
                    it.kind_name()
                )),
            );
            ok = false;
            continue;
        };
        let sk = ctx.keys(fi, kv, "sequence step", &["condition", "within"]);
        let within_ns = match (i, sk.get("within")) {
            (0, None) => None,
            (0, Some(w)) => {
                ctx.err(
                    fi,
                    w.pos,
                    ErrorKind::Sequence("the first step has no `within`".into()),
                );
                ok = false;
                None
            }
            (_, None) => {
                ctx.err(
                    fi,
                    it.pos,
                    ErrorKind::Sequence(format!(
                        "step {} needs `within` (e.g. `within: 5s`)",
                        i + 1
                    )),
                );
                ok = false;
                None
            }
            (_, Some(w)) => match w.as_str().and_then(parse_duration) {
                Some(d) => Some(d),
                None => {
                    ctx.err(
                        fi,
                        w.pos,
                        ErrorKind::Sequence(format!(
                            "bad duration `{}` (use e.g. 500ms, 5s, 2m, 1h)",
                            w.as_str().unwrap_or("?")
                        )),
                    );
                    ok = false;
                    None
                }
            },
        };
        let Some(c) = sk.get("condition") else {
            ctx.err(
                fi,
                it.pos,
                ErrorKind::Sequence(format!("step {} has no `condition`", i + 1)),
            );
            ok = false;
            continue;
        };
        match ctx
            .condition(fi, c)
            .and_then(|a| ctx.compile(compiler, fi, c, &a))
        {
            Some(pred) => steps.push(Step { pred, within_ns }),
            None => ok = false,
        }
    }
    let by = by?;
    ok.then_some(Matcher::Sequence(SequenceSpec {
        by,
        steps,
        max_keys,
    }))
}
