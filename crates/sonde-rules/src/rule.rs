//! A validated rule set: rules, their compiled conditions and the `evt.type` index.
//!
//! A [`RuleSet`] is immutable once loaded (Send + Sync, shareable behind an
//! `Arc`). Reloading means loading a new one and swapping it in on success; on
//! error the caller keeps the old one (see [`crate::Engine::replace_rules`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::eval::{required_types, Pred};
use crate::fields::{EventFields, FieldId, FieldValue};
use crate::output::Template;
use crate::sequence::SequenceSpec;

/// Falco's priorities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// EMERGENCY
    Emergency,
    /// ALERT
    Alert,
    /// CRITICAL
    Critical,
    /// ERROR
    Error,
    /// WARNING
    Warning,
    /// NOTICE
    Notice,
    /// INFORMATIONAL (also INFO)
    Informational,
    /// DEBUG
    Debug,
}

impl FromStr for Priority {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "EMERGENCY" => Priority::Emergency,
            "ALERT" => Priority::Alert,
            "CRITICAL" => Priority::Critical,
            "ERROR" => Priority::Error,
            "WARNING" | "WARN" => Priority::Warning,
            "NOTICE" => Priority::Notice,
            "INFORMATIONAL" | "INFO" => Priority::Informational,
            "DEBUG" => Priority::Debug,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Emergency => "EMERGENCY",
            Priority::Alert => "ALERT",
            Priority::Critical => "CRITICAL",
            Priority::Error => "ERROR",
            Priority::Warning => "WARNING",
            Priority::Notice => "NOTICE",
            Priority::Informational => "INFORMATIONAL",
            Priority::Debug => "DEBUG",
        })
    }
}

/// What the agent should do, beyond alerting, when a rule fires (`action:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `kill`: kill the matching process (enforced by the agent, at exec).
    Kill,
    /// `deny-connect`: refuse the matching outbound connections.
    DenyConnect,
}

impl FromStr for RuleAction {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "kill" => Ok(RuleAction::Kill),
            "deny-connect" | "deny_connect" => Ok(RuleAction::DenyConnect),
            _ => Err(()),
        }
    }
}

impl fmt::Display for RuleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleAction::Kill => "kill",
            RuleAction::DenyConnect => "deny-connect",
        })
    }
}

/// What decides whether a rule fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// A single-event condition.
    Condition(Pred),
    /// Steps over time, tied by a key field.
    Sequence(SequenceSpec),
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `rule:`
    pub name: String,
    /// `desc:`
    pub desc: String,
    /// `priority:`
    pub priority: Priority,
    /// `tags:`
    pub tags: Vec<String>,
    /// `enabled:` (default true). Disabled rules are validated, never run.
    pub enabled: bool,
    /// Condition or sequence.
    pub matcher: Matcher,
    /// `output:`
    pub output: Template,
    /// Where the rule is defined (`file:line`).
    pub origin: String,
    /// `action:` (none: alert only).
    pub action: Option<RuleAction>,
    /// `dry_run:` (default false): report what the action would do, do nothing.
    pub dry_run: bool,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Index of the rule in [`RuleSet::rules`].
    pub rule_index: usize,
    /// The rule's name.
    pub rule: String,
    /// Its priority.
    pub priority: Priority,
    /// The rendered output.
    pub output: String,
    /// Its tags.
    pub tags: Vec<String>,
}

impl Alert {
    pub(crate) fn new(index: usize, rule: &Rule, ev: &dyn EventFields) -> Alert {
        Alert {
            rule_index: index,
            rule: rule.name.clone(),
            priority: rule.priority,
            output: rule.output.render(ev),
            tags: rule.tags.clone(),
        }
    }
}

/// A validated, indexed set of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Per event type: the enabled rules that can match it (typed + untyped), in rule order.
    by_type: HashMap<String, Vec<u32>>,
    /// Enabled rules that can match any event type.
    any_type: Vec<u32>,
    /// Honeytoken paths declared by `- canaries: [...]` items, in load order.
    canaries: Vec<String>,
}

impl RuleSet {
    /// Builds the set and its `evt.type` index.
    pub(crate) fn new(rules: Vec<Rule>) -> RuleSet {
        let mut typed: HashMap<String, Vec<u32>> = HashMap::new();
        let mut any_type = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if !r.enabled {
                continue;
            }
            let types = match &r.matcher {
                Matcher::Condition(p) => required_types(p),
                Matcher::Sequence(s) => s.steps.iter().try_fold(BTreeSet::new(), |mut acc, st| {
                    acc.extend(required_types(&st.pred)?);
                    Some(acc)
                }),
            };
            match types {
                Some(ts) => ts
                    .into_iter()
                    .for_each(|t| typed.entry(t).or_default().push(i as u32)),
                None => any_type.push(i as u32),
            }
        }
        let by_type = typed
            .into_iter()
            .map(|(t, mut v)| {
                v.extend(&any_type);
                v.sort_unstable();
                v.dedup();
                (t, v)
            })
            .collect();
        RuleSet {
            rules,
            by_type,
            any_type,
            canaries: Vec::new(),
        }
    }

    /// The paths of the `- canaries: [...]` items (absolute, deduplicated).
    pub fn canaries(&self) -> &[String] {
        &self.canaries
    }

    pub(crate) fn with_canaries(mut self, canaries: Vec<String>) -> RuleSet {
        self.canaries = canaries;
        self
    }

    /// All rules, enabled or not, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Indexes of the enabled rules an event of this `evt.type` may match.
    pub fn candidates_for_type(&self, evt_type: Option<&str>) -> &[u32] {
        evt_type
            .and_then(|t| self.by_type.get(t))
            .map_or(&self.any_type[..], |v| &v[..])
    }

    /// Indexes of the enabled rules the event may match (by its `evt.type`).
    pub fn candidates(&self, ev: &dyn EventFields) -> &[u32] {
        match ev.field(FieldId::EvtType, None) {
            Some(FieldValue::Str(t)) => self.candidates_for_type(Some(&t)),
            _ => self.candidates_for_type(None),
        }
    }

    /// Single-event matching (sequence rules are skipped: they need an
    /// [`crate::Engine`] for their state).
    pub fn matches(&self, ev: &dyn EventFields) -> Vec<Alert> {
        let mut out = Vec::new();
        for &i in self.candidates(ev) {
            let r = &self.rules[i as usize];
            if let Matcher::Condition(p) = &r.matcher {
                if p.eval(ev) {
                    out.push(Alert::new(i as usize, r, ev));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_case_insensitively_and_order_by_severity() {
        assert_eq!("warning".parse(), Ok(Priority::Warning));
        assert_eq!("INFO".parse(), Ok(Priority::Informational));
        assert_eq!("Informational".parse(), Ok(Priority::Informational));
        assert!("SEVERE".parse::<Priority>().is_err());
        assert!(Priority::Emergency < Priority::Debug);
        assert_eq!(Priority::Critical.to_string(), "CRITICAL");
    }

    #[test]
    fn rule_sets_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
        assert_send_sync::<Rule>();
    }

    #[test]
    fn index_without_evt_type_uses_untyped_rules() {
        let set = crate::load_str(
            "t.yaml",
            "- rule: a\n  condition: evt.type = execve\n  output: x\n  priority: INFO\n- rule: b\n  condition: proc.name = x\n  output: x\n  priority: INFO\n",
        )
        .unwrap();
        assert_eq!(set.candidates_for_type(Some("execve")), &[0, 1]);
        assert_eq!(set.candidates_for_type(Some("open")), &[1]);
        assert_eq!(set.candidates_for_type(None), &[1]);
        assert!(set.rule("a").is_some());
        assert_eq!(set.rules()[0].origin, "t.yaml:1");
    }
}
