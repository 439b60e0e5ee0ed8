//! The detection core: the rule engine, the stage's process lineage, and the
//! alert events it builds. No threads, no I/O: [`Detector::evaluate`] takes
//! an event and returns the alerts (tests and the benchmark drive it
//! directly).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use std::collections::HashSet;

use sonde_event::{Alert, AlertPriority, Endpoint, Event, TcpEnd, Workload};
use sonde_rules::Engine;

use super::fields::{EventView, Users};
use super::lineage::Lineage;
use super::reload::LoadedRules;
use super::stats::DetectStats;

/// Most process images the lineage remembers.
pub const LINEAGE_MAX: usize = 200_000;

pub struct Detector {
    engine: Engine,
    loaded: LoadedRules,
    lineage: Lineage,
    users: Users,
    /// Connections already evaluated at an interim report: (local, remote,
    /// start), so a long connection alerts once, not every report interval.
    reported: HashSet<(Endpoint, Endpoint, u64)>,
}

/// Most open connections remembered as evaluated (then forgotten at once).
pub const REPORTED_MAX: usize = 100_000;

fn priority(p: sonde_rules::Priority) -> AlertPriority {
    use sonde_rules::Priority as P;
    match p {
        P::Emergency => AlertPriority::Emergency,
        P::Alert => AlertPriority::Alert,
        P::Critical => AlertPriority::Critical,
        P::Error => AlertPriority::Error,
        P::Warning => AlertPriority::Warning,
        P::Notice => AlertPriority::Notice,
        P::Informational => AlertPriority::Informational,
        P::Debug => AlertPriority::Debug,
    }
}

impl Detector {
    pub fn new(loaded: LoadedRules, users: Users) -> Detector {
        Detector {
            engine: Engine::new(loaded.set.clone()),
            loaded,
            lineage: Lineage::new(LINEAGE_MAX),
            users,
            reported: HashSet::new(),
        }
    }

    /// Swaps in a new rule set (sequence state starts afresh; the lineage stays).
    pub fn replace(&mut self, loaded: LoadedRules) {
        self.engine.replace_rules(loaded.set.clone());
        self.loaded = loaded;
    }

    pub fn rules(&self) -> &LoadedRules {
        &self.loaded
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// Runs one event through the rules; returns the alerts as events.
    pub fn evaluate(&mut self, event: &Event, stats: &DetectStats) -> Vec<Event> {
        // Learn the image before evaluating, so its own exec sees its lineage.
        match event {
            Event::ProcessExec(e) => self.lineage.on_exec(e),
            Event::ProcessExit(e) => self.lineage.on_exit(&e.process, e.time.0),
            Event::TcpConnection(c) => {
                let key = (c.local, c.remote, c.start_time.map_or(0, |t| t.0));
                let seen = if c.end == TcpEnd::Open {
                    if self.reported.len() >= REPORTED_MAX {
                        self.reported.clear();
                    }
                    !self.reported.insert(key)
                } else {
                    self.reported.remove(&key)
                };
                if seen {
                    return Vec::new();
                }
            }
            _ => {}
        }
        let Some(view) = EventView::new(event, &self.lineage, &self.users) else {
            return Vec::new();
        };
        stats.evaluated_events.fetch_add(1, Relaxed);
        let before = self.engine.stats().evaluations;
        let fired = self.engine.process(&view);
        stats
            .rule_evaluations
            .fetch_add(self.engine.stats().evaluations - before, Relaxed);
        if fired.is_empty() {
            return Vec::new();
        }
        let process = view.proc.map(|p| Workload {
            exec_id: p.exec_id.to_string(),
            pid: p.pid,
            comm: p.comm.to_string(),
            binary: p.binary.to_string(),
            container: p.container.cloned(),
        });
        let ancestors = view.ancestors.to_vec();
        let rules = self.engine.rules().clone();
        fired
            .into_iter()
            .map(|a| {
                let origin = rules
                    .rules()
                    .get(a.rule_index)
                    .map(|r| r.origin.clone())
                    .unwrap_or_default();
                let p = priority(a.priority);
                stats
                    .alerts
                    .add([a.rule.clone(), p.as_str().to_string()], 1);
                Event::Alert(Box::new(Alert {
                    time: event.time(),
                    rule: a.rule,
                    priority: p,
                    tags: a.tags,
                    output: a.output,
                    process: process.clone(),
                    ancestors: ancestors.clone(),
                    events: vec![event.clone()],
                    origin,
                }))
            })
            .collect()
    }

    /// Forgets exited images past their grace period, and publishes the
    /// sequence rules' counters.
    pub fn maintain(&mut self, now_ns: u64, stats: &DetectStats) {
        self.lineage.expire(now_ns);
        let rules: Arc<_> = self.engine.rules().clone();
        let mut seq = std::collections::BTreeMap::new();
        for r in rules.rules() {
            if let (Some(s), Some(keys)) = (
                self.engine.sequence_stats(&r.name),
                self.engine.sequence_keys(&r.name),
            ) {
                seq.insert(r.name.clone(), [s.fired, s.expired, s.evicted, keys as u64]);
            }
        }
        if let Ok(mut m) = stats.sequences.lock() {
            *m = seq;
        }
    }
}
