//! The engine: a rule set plus the state of its sequence rules.
//!
//! `process` runs, for one event, only the rules indexed under its `evt.type`
//! (plus those that can match any type), and returns the alerts. Reload is
//! load-then-swap: build a new [`RuleSet`] with [`crate::load_str`] (or
//! `load_files`); on success call [`Engine::replace_rules`], on error keep
//! running the old one and report the errors.

use std::sync::Arc;

use crate::fields::EventFields;
use crate::rule::{Alert, Matcher, RuleSet};
use crate::sequence::{SequenceState, SequenceStats};

/// Engine counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Rule evaluations run (after the `evt.type` pre-filter).
    pub evaluations: u64,
    /// Alerts produced.
    pub alerts: u64,
}

/// Rules plus sequence state; one per event stream (not shared across threads).
#[derive(Debug)]
pub struct Engine {
    rules: Arc<RuleSet>,
    sequences: Vec<Option<SequenceState>>,
    stats: EngineStats,
}

impl Engine {
    /// An engine over a rule set.
    pub fn new(rules: Arc<RuleSet>) -> Engine {
        let sequences = Self::states(&rules);
        Engine {
            rules,
            sequences,
            stats: EngineStats::default(),
        }
    }

    fn states(rules: &RuleSet) -> Vec<Option<SequenceState>> {
        rules
            .rules()
            .iter()
            .map(|r| matches!(r.matcher, Matcher::Sequence(_)).then(SequenceState::default))
            .collect()
    }

    /// Swaps in a new rule set (sequence state starts afresh).
    pub fn replace_rules(&mut self, rules: Arc<RuleSet>) {
        self.sequences = Self::states(&rules);
        self.rules = rules;
    }

    /// The current rule set.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Counters of a sequence rule, by rule name.
    pub fn sequence_stats(&self, rule: &str) -> Option<SequenceStats> {
        let i = self.rules.rules().iter().position(|r| r.name == rule)?;
        self.sequences.get(i)?.as_ref().map(|s| s.stats)
    }

    /// Keys currently tracked by a sequence rule.
    pub fn sequence_keys(&self, rule: &str) -> Option<usize> {
        let i = self.rules.rules().iter().position(|r| r.name == rule)?;
        self.sequences.get(i)?.as_ref().map(SequenceState::len)
    }

    /// Runs the event through the rules that can match it.
    pub fn process(&mut self, ev: &dyn EventFields) -> Vec<Alert> {
        self.stats.events += 1;
        let mut out = Vec::new();
        let rules = &self.rules;
        for &i in rules.candidates(ev) {
            let i = i as usize;
            let rule = &rules.rules()[i];
            self.stats.evaluations += 1;
            let fired = match &rule.matcher {
                Matcher::Condition(p) => p.eval(ev),
                Matcher::Sequence(spec) => match self.sequences.get_mut(i) {
                    Some(Some(state)) => state.on_event(spec, ev),
                    _ => false,
                },
            };
            if fired {
                out.push(Alert::new(i, rule, ev));
            }
        }
        self.stats.alerts += out.len() as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{FieldId, FieldValue};
    use std::borrow::Cow;

    struct Ev(&'static str, i64);
    impl EventFields for Ev {
        fn field(&self, id: FieldId, _: Option<u32>) -> Option<FieldValue<'_>> {
            match id {
                FieldId::EvtType => Some(FieldValue::Str(Cow::Borrowed(self.0))),
                FieldId::EvtTime => Some(FieldValue::Num(self.1)),
                FieldId::ProcPid => Some(FieldValue::Num(1)),
                _ => None,
            }
        }
    }

    const SEQ: &str = "- rule: s\n  by: proc.pid\n  sequence:\n    - condition: evt.type = a\n    - condition: evt.type = b\n      within: 1s\n  output: x\n  priority: INFO\n";

    #[test]
    fn replacing_rules_resets_sequence_state() {
        let set = Arc::new(crate::load_str("s", SEQ).unwrap());
        let mut e = Engine::new(set.clone());
        e.process(&Ev("a", 0));
        assert_eq!(e.sequence_keys("s"), Some(1));
        e.replace_rules(set);
        assert_eq!(e.sequence_keys("s"), Some(0));
        assert!(e.process(&Ev("b", 1)).is_empty());
        e.process(&Ev("a", 2));
        assert_eq!(e.process(&Ev("b", 3)).len(), 1);
        assert_eq!(e.stats().alerts, 1);
        assert_eq!(e.sequence_stats("s").unwrap().fired, 1);
        assert_eq!(e.sequence_stats("nope"), None);
    }
}
