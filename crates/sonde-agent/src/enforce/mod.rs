//! Enforcement (issue 7): kill at exec and deny connect, in the kernel,
//! without kprobes or LSM.
//!
//! ```text
//! Policy (YAML --enforce-policy, or rule actions) ─► Enforcer::apply ─► policy::compile (refusals)
//!     ─► sonde_bpf::EnforceRules (kill_rules hash, connect_rules LPM trie)
//! bpf/enforce.bpf.c ─► own ring ─► ring reader ─► processor (events::enforcement) ─► store, live
//! ```
//!
//! The [`Enforcer`] owns the kernel's rule maps; the agent owns the programs
//! (detached on drop). Rule ids are fresh on every [`Enforcer::apply`], and
//! [`RuleNames`] remembers the names of the current and previous sets so a
//! record read just after a change is still named.

mod events;
mod policy;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use sonde_bpf::{ConnectRuleSpec, EnforceRules, KillRuleSpec};

pub(crate) use events::enforcement;
pub use policy::{Policy, PolicyError, PolicySources, Protected};

/// Rule id → rule name, shared with the processor.
#[derive(Debug, Clone, Default)]
pub struct RuleNames(Arc<RwLock<HashMap<u32, String>>>);

impl RuleNames {
    pub fn name(&self, id: u32) -> String {
        self.0
            .read()
            .ok()
            .and_then(|m| m.get(&id).cloned())
            .unwrap_or_else(|| format!("rule#{id}"))
    }
}

struct Installed {
    rules: EnforceRules,
    policies: Vec<Policy>,
    kill: Vec<KillRuleSpec>,
    connect: Vec<ConnectRuleSpec>,
    next_id: u32,
    /// The first id of the running set: names below the previous set's are forgotten.
    previous_first: u32,
}

/// Installs enforcement policies in the kernel. Cheap to share.
pub struct Enforcer {
    installed: Mutex<Installed>,
    names: RuleNames,
    protected: Protected,
    cgroup_root: Option<PathBuf>,
}

impl Enforcer {
    pub(crate) fn new(rules: EnforceRules, cgroup_root: Option<PathBuf>) -> Enforcer {
        Enforcer {
            installed: Mutex::new(Installed {
                rules,
                policies: Vec::new(),
                kill: Vec::new(),
                connect: Vec::new(),
                next_id: 1,
                previous_first: 1,
            }),
            names: RuleNames::default(),
            protected: Protected::discover(),
            cgroup_root,
        }
    }

    pub(crate) fn names(&self) -> RuleNames {
        self.names.clone()
    }

    /// Replaces every policy with `policies`. A policy that is invalid or
    /// refused (it would kill sonde or PID 1) refuses the whole set, and the
    /// running set stays.
    pub fn apply(&self, policies: &[Policy]) -> Result<(), PolicyError> {
        let mut installed = self
            .installed
            .lock()
            .map_err(|_| PolicyError::Unavailable("a previous apply panicked".into()))?;
        let first = installed.next_id;
        let compiled = policy::compile(
            policies,
            first,
            &self.protected,
            self.cgroup_root.as_deref(),
        )?;
        // Named before the kernel can report them.
        if let Ok(mut names) = self.names.0.write() {
            let forget_below = installed.previous_first;
            names.retain(|id, _| *id >= forget_below);
            for (i, p) in policies.iter().enumerate() {
                names.insert(first.wrapping_add(i as u32), p.rule().to_string());
            }
        }
        let kernel = |e: sonde_bpf::BpfError| PolicyError::Kernel(e.to_string());
        installed
            .rules
            .set_kill_rules(&compiled.kill)
            .map_err(kernel)?;
        if let Err(e) = installed.rules.set_connect_rules(&compiled.connect) {
            // Put the previous kill rules back: all or nothing.
            let previous = installed.kill.clone();
            let _ = installed.rules.set_kill_rules(&previous);
            return Err(kernel(e));
        }
        installed.previous_first = first;
        installed.next_id = first.wrapping_add(policies.len().max(1) as u32);
        installed.kill = compiled.kill;
        installed.connect = compiled.connect;
        installed.policies = policies.to_vec();
        tracing::info!(policies = policies.len(), "enforcement policies installed");
        Ok(())
    }

    /// The running policies.
    pub fn policies(&self) -> Vec<Policy> {
        self.installed
            .lock()
            .map(|i| i.policies.clone())
            .unwrap_or_default()
    }
}
