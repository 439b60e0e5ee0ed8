//! Rule actions (`action: kill` / `action: deny-connect`): what each rule
//! pins, checked when the rule set loads.
//!
//! An action must name what it enforces in a form the kernel can match
//! without evaluating the rule: `kill` needs `proc.name`, `proc.exe` or
//! `proc.exepath` pinned by `=` or `in` at the top level of the condition
//! (optionally `proc.aname`); `deny-connect` needs `fd.dip` or `fd.dport`
//! pinned the same way. A rule that pins nothing is refused at load with its
//! location. Killing sonde itself or init is refused too.

use sonde_rules::condition::CmpOp;
use sonde_rules::eval::{Access, Check, Pred, Test};

use crate::enforce::Policy;
use sonde_rules::{FieldId, Matcher, Rule, RuleAction};

/// What one action rule enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedAction {
    Kill {
        rule: String,
        /// Process names (comm) or executable paths to kill at exec.
        names: Vec<String>,
        paths: Vec<String>,
        /// Only below these ancestors (names), when pinned.
        ancestors: Vec<String>,
        dry_run: bool,
    },
    DenyConnect {
        rule: String,
        ips: Vec<String>,
        ports: Vec<u16>,
        dry_run: bool,
    },
}

impl PlannedAction {
    /// The rule's name.
    pub fn rule(&self) -> &str {
        match self {
            PlannedAction::Kill { rule, .. } | PlannedAction::DenyConnect { rule, .. } => rule,
        }
    }
}

/// The top-level conjuncts of a condition.
fn conjuncts(p: &Pred) -> Vec<&Pred> {
    match p {
        Pred::And(v) => v.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// Values a leaf pins its field to (`=` or `in`), for `field` and `access`.
fn pinned(parts: &[&Pred], field: FieldId, access: Access) -> Vec<String> {
    let mut out = Vec::new();
    for p in parts {
        if let Pred::Test(Test {
            field: f,
            access: a,
            check,
        }) = p
        {
            if *f != field || *a != access {
                continue;
            }
            match check {
                Check::StrEq(v) => out.push(v.to_string()),
                Check::StrIn(vs) => out.extend(vs.iter().map(|v| v.to_string())),
                Check::Num(CmpOp::Eq, n) => out.push(n.to_string()),
                Check::NumIn(ns) => out.extend(ns.iter().map(|n| n.to_string())),
                _ => {}
            }
        }
    }
    out
}

/// Names sonde must never kill.
fn protected(names: &[String], paths: &[String]) -> Option<String> {
    let own = std::env::current_exe().ok();
    for p in paths {
        if own.as_deref().is_some_and(|o| o == std::path::Path::new(p))
            || p == "/sbin/init"
            || p.ends_with("/systemd")
        {
            return Some(p.clone());
        }
    }
    names
        .iter()
        .find(|n| matches!(n.as_str(), "sonde" | "init" | "systemd"))
        .cloned()
}

/// The action a rule asks for, or why it cannot be enforced.
pub fn plan(rule: &Rule) -> Result<Option<PlannedAction>, String> {
    let Some(action) = rule.action else {
        return Ok(None);
    };
    let Matcher::Condition(pred) = &rule.matcher else {
        return Err(format!(
            "rule `{}`: action `{action}` needs a `condition`, not a `sequence`",
            rule.name
        ));
    };
    let parts = conjuncts(pred);
    match action {
        RuleAction::Kill => {
            let mut names = pinned(&parts, FieldId::ProcName, Access::Plain);
            names.extend(pinned(&parts, FieldId::ProcExe, Access::Plain));
            let paths = pinned(&parts, FieldId::ProcExepath, Access::Plain);
            if names.is_empty() && paths.is_empty() {
                return Err(format!(
                    "rule `{}`: action `kill` needs the condition to pin proc.name, proc.exe or proc.exepath with `=` or `in` (joined by `and`)",
                    rule.name
                ));
            }
            if let Some(p) = protected(&names, &paths) {
                return Err(format!(
                    "rule `{}`: action `kill` would kill `{p}` (sonde itself or init); refused",
                    rule.name
                ));
            }
            let mut ancestors = pinned(&parts, FieldId::ProcAname, Access::AnyAncestor);
            ancestors.extend(pinned(&parts, FieldId::ProcPname, Access::Plain));
            Ok(Some(PlannedAction::Kill {
                rule: rule.name.clone(),
                names,
                paths,
                ancestors,
                dry_run: rule.dry_run,
            }))
        }
        RuleAction::DenyConnect => {
            let ips = pinned(&parts, FieldId::FdDip, Access::Plain);
            let ports: Vec<u16> = pinned(&parts, FieldId::FdDport, Access::Plain)
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect();
            if ips.is_empty() && ports.is_empty() {
                return Err(format!(
                    "rule `{}`: action `deny-connect` needs the condition to pin fd.dip or fd.dport with `=` or `in` (joined by `and`)",
                    rule.name
                ));
            }
            Ok(Some(PlannedAction::DenyConnect {
                rule: rule.name.clone(),
                ips,
                ports,
                dry_run: rule.dry_run,
            }))
        }
    }
}

/// The enforcer's policies for one action rule: one per name or path (times
/// each pinned ancestor); for deny-connect one per address (every address
/// when only ports are pinned) and port.
pub fn policies(action: &PlannedAction) -> Vec<Policy> {
    let mut out = Vec::new();
    match action {
        PlannedAction::Kill {
            rule,
            names,
            paths,
            ancestors,
            dry_run,
        } => {
            let ancestors: Vec<Option<String>> = if ancestors.is_empty() {
                vec![None]
            } else {
                ancestors.iter().cloned().map(Some).collect()
            };
            for ancestor in &ancestors {
                for n in names {
                    out.push(Policy::Kill {
                        rule: rule.clone(),
                        binary_path: None,
                        binary_name: Some(n.clone()),
                        ancestor: ancestor.clone(),
                        cgroup: None,
                        dry_run: *dry_run,
                    });
                }
                for p in paths {
                    out.push(Policy::Kill {
                        rule: rule.clone(),
                        binary_path: Some(p.clone()),
                        binary_name: None,
                        ancestor: ancestor.clone(),
                        cgroup: None,
                        dry_run: *dry_run,
                    });
                }
            }
        }
        PlannedAction::DenyConnect {
            rule,
            ips,
            ports,
            dry_run,
        } => {
            let cidrs: Vec<String> = if ips.is_empty() {
                vec!["0.0.0.0/0".into(), "::/0".into()]
            } else {
                ips.clone()
            };
            let ports: Vec<Option<u16>> = if ports.is_empty() {
                vec![None]
            } else {
                ports.iter().copied().map(Some).collect()
            };
            for cidr in &cidrs {
                for port in &ports {
                    out.push(Policy::DenyConnect {
                        rule: rule.clone(),
                        cidr: cidr.clone(),
                        port: *port,
                        cgroup: None,
                        dry_run: *dry_run,
                    });
                }
            }
        }
    }
    out
}
