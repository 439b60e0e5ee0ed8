//! Time-window rules: ordered steps tied by a key field, with bounded state.
//!
//! ```yaml
//! - rule: Outbound connect soon after a shell
//!   by: proc.tree_id            # the key that ties the steps
//!   sequence:
//!     - condition: evt.type = execve and proc.name in (shell_binaries)
//!     - condition: evt.type = connect
//!       within: 5s              # after the previous step
//!   output: "..."
//!   priority: WARNING
//! ```
//! Per rule, a map key → (next step, time of the last matched step). An event
//! first tries to advance its key's pending step (if still within the window),
//! otherwise a match of step 1 (re)starts the key. The last step fires the rule
//! and forgets the key. Time is `evt.time` (ns); events without it, or without
//! the key field, do not take part (counted). Memory is bounded by `max_keys`
//! per rule: when full, expired keys go first, then the least recently updated
//! (counted as evictions).

use std::collections::{HashMap, VecDeque};

use crate::eval::Pred;
use crate::fields::{EventFields, FieldRef, FieldValue};

/// Default bound on tracked keys per sequence rule.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its condition.
    pub pred: Pred,
    /// Max time since the previous step, ns (None for the first step).
    pub within_ns: Option<i64>,
}

/// A compiled `sequence:` with its `by:` key.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceSpec {
    /// The key field.
    pub by: FieldRef,
    /// At least two steps.
    pub steps: Vec<Step>,
    /// Bound on tracked keys.
    pub max_keys: usize,
}

/// Counters of one sequence rule's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SequenceStats {
    /// Keys started by a first-step match.
    pub started: u64,
    /// Steps advanced (not counting the first).
    pub advanced: u64,
    /// Times the rule fired.
    pub fired: u64,
    /// Keys dropped because their window passed.
    pub expired: u64,
    /// Keys evicted to stay within `max_keys`.
    pub evicted: u64,
    /// Events skipped for lack of `evt.time`.
    pub no_time: u64,
    /// Events skipped for lack of the key field.
    pub no_key: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Num(i64),
    Str(String),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    next_step: usize,
    last_ns: i64,
    generation: u64,
}

/// State of one sequence rule.
#[derive(Debug, Default)]
pub struct SequenceState {
    entries: HashMap<Key, Entry>,
    /// (key, generation) in update order; stale generations are skipped.
    order: VecDeque<(Key, u64)>,
    generation: u64,
    /// Its counters.
    pub stats: SequenceStats,
}

impl SequenceState {
    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Feeds one event; returns true when the sequence completes.
    pub fn on_event(&mut self, spec: &SequenceSpec, ev: &dyn EventFields) -> bool {
        let Some(first) = spec.steps.first() else {
            return false;
        };
        let now = match ev.field(crate::fields::FieldId::EvtTime, None) {
            Some(FieldValue::Num(t)) => t,
            _ => {
                self.stats.no_time += 1;
                return false;
            }
        };
        let key = match ev.field(spec.by.id, spec.by.index) {
            Some(FieldValue::Num(n)) => Key::Num(n),
            Some(FieldValue::Str(s)) => Key::Str(s.into_owned()),
            Some(other) => Key::Str(other.to_string()),
            None => {
                self.stats.no_key += 1;
                return false;
            }
        };
        if let Some(e) = self.entries.get(&key).copied() {
            let step = &spec.steps[e.next_step.min(spec.steps.len() - 1)];
            let window = step.within_ns.unwrap_or(i64::MAX);
            if now.saturating_sub(e.last_ns) > window {
                self.entries.remove(&key);
                self.stats.expired += 1;
            } else if step.pred.eval(ev) {
                if e.next_step + 1 >= spec.steps.len() {
                    self.entries.remove(&key);
                    self.stats.fired += 1;
                    return true;
                }
                self.stats.advanced += 1;
                self.touch(key, e.next_step + 1, now);
                return false;
            }
        }
        if first.pred.eval(ev) {
            self.stats.started += 1;
            if !self.entries.contains_key(&key) {
                self.make_room(spec, now);
            }
            self.touch(key, 1, now);
        }
        false
    }

    fn touch(&mut self, key: Key, next_step: usize, now: i64) {
        self.generation += 1;
        let generation = self.generation;
        self.entries.insert(
            key.clone(),
            Entry {
                next_step,
                last_ns: now,
                generation,
            },
        );
        self.order.push_back((key, generation));
        // Keep the order queue from growing with stale generations.
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(k, g)| entries.get(k).is_some_and(|e| e.generation == *g));
        }
    }

    fn make_room(&mut self, spec: &SequenceSpec, now: i64) {
        let max_window = spec
            .steps
            .iter()
            .filter_map(|s| s.within_ns)
            .max()
            .unwrap_or(i64::MAX);
        while let Some((k, g)) = self.order.front().cloned() {
            let live = self.entries.get(&k).filter(|e| e.generation == g).copied();
            match live {
                None => {
                    self.order.pop_front();
                }
                Some(e) if now.saturating_sub(e.last_ns) > max_window => {
                    self.order.pop_front();
                    self.entries.remove(&k);
                    self.stats.expired += 1;
                }
                Some(_) if self.entries.len() >= spec.max_keys => {
                    self.order.pop_front();
                    self.entries.remove(&k);
                    self.stats.evicted += 1;
                }
                Some(_) => break,
            }
        }
    }
}

/// Parses `5s`, `500ms`, `2m`, `1h`, `100us`, `10ns` into nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mul: i64 = match unit.trim() {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    n.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(5_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("2m"), Some(120_000_000_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("5 days"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }
}
