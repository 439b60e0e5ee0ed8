//! Loading the rule set (built-in defaults, `--rules` files, canaries,
//! actions) and reloading it without a restart.
//!
//! Reload is load-then-swap: [`RulesControl::reload`] loads a complete new
//! set; on success the detection thread swaps it in before its next batch,
//! on error the running set stays, the error is logged, counted
//! (`sonde_rules_reload_errors_total`) and returned to the caller (SIGHUP or
//! `POST /api/v1/rules/reload`). A canary added by a reload alerts on the
//! events already collected for its path; the kernel's file watch list is
//! set at start (`AgentConfig::watch_paths`).

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sonde_rules::{load_sources, LoadErrors, RuleSet, Source};

use super::actions::{plan, policies, PlannedAction};
use super::canary;
use crate::enforce::{Enforcer, PolicyError, PolicySources};
use crate::stats::Stats;

/// The built-in rule set.
pub const DEFAULT_RULES: &str = include_str!("../../../../rules/default.yaml");
/// Its name in error messages and alert origins.
pub const DEFAULT_RULES_NAME: &str = "builtin:rules/default.yaml";

/// Where rules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSources {
    /// Load the built-in `rules/default.yaml` first.
    pub builtin: bool,
    /// `--rules FILE`, in order (they may use the built-in lists and macros).
    pub files: Vec<PathBuf>,
    /// `--canary PATH`.
    pub canaries: Vec<String>,
}

/// Why a rule set was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: String },
    #[error("{0}")]
    Load(LoadErrors),
    #[error("{}", .0.join("\n"))]
    Actions(Vec<String>),
    #[error("rule actions or policies refused by the enforcer: {0}")]
    Enforce(#[from] PolicyError),
    #[error("enforcement policies not loaded: {0}")]
    Policies(PolicyError),
}

/// A loaded, validated rule set and what goes with it.
#[derive(Debug, Clone)]
pub struct LoadedRules {
    pub set: Arc<RuleSet>,
    /// Every canary path (flags and `canaries:` items).
    pub canaries: Vec<String>,
    /// Action rules (with their `file:line`), translated to policies when installed.
    pub actions: Vec<(String, PlannedAction)>,
}

/// What a reload reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReloadReport {
    pub rules: usize,
    pub enabled: usize,
    pub canaries: usize,
    pub actions: usize,
    /// Enforcement policies installed: the policy file's and the rules' actions'.
    pub policies: usize,
}

impl LoadedRules {
    pub fn report(&self) -> ReloadReport {
        ReloadReport {
            rules: self.set.rules().len(),
            enabled: self.set.rules().iter().filter(|r| r.enabled).count(),
            canaries: self.canaries.len(),
            actions: self.actions.len(),
            policies: 0,
        }
    }
}

/// Loads the sources into one set.
pub fn load(sources: &RuleSources) -> Result<LoadedRules, RulesError> {
    let mut texts: Vec<(String, String)> = Vec::new();
    if sources.builtin {
        texts.push((DEFAULT_RULES_NAME.into(), DEFAULT_RULES.into()));
    }
    for p in &sources.files {
        let text = std::fs::read_to_string(p).map_err(|e| RulesError::Io {
            path: p.display().to_string(),
            error: e.to_string(),
        })?;
        texts.push((p.display().to_string(), text));
    }
    let as_sources = |texts: &[(String, String)]| -> Vec<(String, String)> { texts.to_vec() };
    let first = load_texts(&as_sources(&texts))?;
    let mut canaries = sources.canaries.clone();
    for c in first.canaries() {
        if !canaries.contains(c) {
            canaries.push(c.clone());
        }
    }
    let set = if canaries.is_empty() {
        first
    } else {
        texts.push((canary::SOURCE_NAME.into(), canary::rules_yaml(&canaries)));
        load_texts(&texts)?
    };
    let mut actions = Vec::new();
    let mut errors = Vec::new();
    for rule in set.rules().iter().filter(|r| r.enabled) {
        match plan(rule) {
            Ok(None) => {}
            Ok(Some(a)) => actions.push((rule.origin.clone(), a)),
            Err(e) => errors.push(format!("{}: {e}", rule.origin)),
        }
    }
    if !errors.is_empty() {
        return Err(RulesError::Actions(errors));
    }
    Ok(LoadedRules {
        set: Arc::new(set),
        canaries,
        actions,
    })
}

fn load_texts(texts: &[(String, String)]) -> Result<RuleSet, RulesError> {
    let sources: Vec<Source<'_>> = texts
        .iter()
        .map(|(n, t)| Source { name: n, text: t })
        .collect();
    load_sources(&sources).map_err(RulesError::Load)
}

/// Shared between the detection thread and whoever reloads.
pub struct RulesControl {
    sources: RuleSources,
    enforcer: Option<Arc<Enforcer>>,
    /// `--enforce-policy` policies, read again on every reload and
    /// installed with the rules' own.
    policies: PolicySources,
    pending: Mutex<Option<LoadedRules>>,
    current: Mutex<ReloadReport>,
    stats: Arc<Stats>,
}

impl RulesControl {
    /// Installs the policies and `loaded`'s actions; a refused set is an error.
    pub fn start(
        sources: RuleSources,
        loaded: &LoadedRules,
        enforcer: Option<Arc<Enforcer>>,
        policies: PolicySources,
        stats: Arc<Stats>,
    ) -> Result<RulesControl, RulesError> {
        let control = RulesControl {
            sources,
            enforcer,
            policies,
            pending: Mutex::new(None),
            current: Mutex::new(loaded.report()),
            stats,
        };
        let policies = control.install(loaded)?;
        control
            .stats
            .detect
            .rules_loaded
            .store(loaded.report().enabled as u64, Relaxed);
        if let Ok(mut c) = control.current.lock() {
            c.policies = policies;
        }
        Ok(control)
    }

    /// Installs the set's actions in the enforcer with the policy file's
    /// policies (read again); returns how many policies run. Without an
    /// enforcer, a set with actions is refused.
    pub fn install(&self, loaded: &LoadedRules) -> Result<usize, RulesError> {
        match &self.enforcer {
            None if loaded.actions.is_empty() => Ok(0),
            None => Err(RulesError::Actions(
                loaded
                    .actions
                    .iter()
                    .map(|(origin, a)| {
                        format!(
                            "{origin}: rule `{}`: enforcement is not available in this agent (the enforcement programs did not load)",
                            a.rule()
                        )
                    })
                    .collect(),
            )),
            Some(e) => {
                let mut all = self.policies.load().map_err(RulesError::Policies)?;
                for (_, a) in &loaded.actions {
                    all.extend(policies(a));
                }
                e.apply(&all)?;
                Ok(all.len())
            }
        }
    }

    /// Loads the sources again; on success the detection thread swaps the new
    /// set in before its next batch. On error the running set stays.
    pub fn reload(&self) -> Result<ReloadReport, RulesError> {
        match load(&self.sources).and_then(|l| self.install(&l).map(|n| (l, n))) {
            Ok((loaded, policies)) => {
                let report = ReloadReport {
                    policies,
                    ..loaded.report()
                };
                // Pending before counted: whoever sees the count sees the set.
                if let Ok(mut p) = self.pending.lock() {
                    *p = Some(loaded);
                }
                tracing::info!(
                    rules = report.rules,
                    enabled = report.enabled,
                    canaries = report.canaries,
                    "rules reloaded"
                );
                self.stats.detect.reloads.fetch_add(1, Relaxed);
                self.stats
                    .detect
                    .rules_loaded
                    .store(report.enabled as u64, Relaxed);
                if let Ok(mut c) = self.current.lock() {
                    *c = report.clone();
                }
                Ok(report)
            }
            Err(e) => {
                tracing::error!(error = %e, "rule reload refused; the running rules stay");
                self.stats.detect.reload_errors.fetch_add(1, Relaxed);
                Err(e)
            }
        }
    }

    /// The running set's counts.
    pub fn current(&self) -> ReloadReport {
        self.current
            .lock()
            .map(|c| c.clone())
            .unwrap_or(ReloadReport {
                rules: 0,
                enabled: 0,
                canaries: 0,
                actions: 0,
                policies: 0,
            })
    }

    /// A set waiting to be swapped in.
    pub(super) fn take_pending(&self) -> Option<LoadedRules> {
        self.pending.lock().ok()?.take()
    }
}
