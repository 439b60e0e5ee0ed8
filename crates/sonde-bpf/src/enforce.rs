//! Loads and attaches the enforcement programs (bpf/enforce.bpf.c): kill at
//! exec on the raw tracepoint `sched_process_exec`, deny connect on
//! `cgroup/connect4` and `cgroup/connect6`, and on `cgroup/sendmsg4` and
//! `cgroup/sendmsg6` for unconnected UDP, attached to the cgroup v2 root.
//!
//! The rules live in two kernel maps that [`EnforceRules`] replaces as a
//! whole. Dropping [`EnforceProgram`] detaches every program (the cgroup
//! links included) and frees the maps: nothing is left in the kernel.

use std::collections::HashSet;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle};

use crate::abi::{
    ConnectKey, ConnectRule, KillKey, KillRule, ENFORCE_DRY_RUN, ENFORCE_PATH_MAX, KILL_BY_INODE,
    KILL_BY_NAME, KILL_BY_PATH,
};
use crate::counters::{PerCpuCounters, SkippedRuns};
use crate::decode::bytes_of;
use crate::hooks::{attach_all, ENFORCE_HOOKS};
use crate::process::{map_handle, preflight, ring_losses, skeleton_storage};
use crate::skel::enforce::{EnforceSkel, EnforceSkelBuilder};
use crate::BpfError;

/// What of a new image a kill rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillMatch {
    /// The executed file: the kernel's dev_t of its superblock
    /// (`MAJOR << 20 | MINOR`) and its inode number.
    Inode { dev: u64, ino: u64 },
    /// The path given to execve(), byte for byte (a script's own path).
    Path(String),
    /// The executed file's name (its last path component).
    Name(String),
}

/// One kill rule, as the kernel applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillRuleSpec {
    pub rule_id: u32,
    pub matches: KillMatch,
    /// Only in this cgroup v2 (id, level below the root) or below it.
    pub cgroup: Option<(u64, u32)>,
    /// Only when a real parent within 16 levels has this comm (at most 15 bytes).
    pub ancestor: Option<String>,
    pub dry_run: bool,
}

/// One deny-connect rule, as the kernel applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRuleSpec {
    pub rule_id: u32,
    /// The cgroup v2 id whose tasks (and its descendants') are denied; the
    /// root cgroup's id for every task.
    pub cgroup_id: u64,
    pub addr: IpAddr,
    /// Prefix length of `addr` (at most 32 for IPv4, 128 for IPv6).
    pub prefix: u8,
    /// `None`: every port.
    pub port: Option<u16>,
    pub dry_run: bool,
}

/// The loaded, attached enforcement programs. Dropping it detaches them.
pub struct EnforceProgram {
    // Links first: they detach before the object that owns the programs goes.
    _links: Vec<Link>,
    skel: EnforceSkel<'static>,
    cgroup_root: Option<PathBuf>,
}

impl EnforceProgram {
    /// Loads the programs with a ring buffer of `ring_bytes`, attaches kill
    /// at exec, and the connect programs to the cgroup v2 root when one is
    /// mounted (see [`EnforceProgram::cgroup_root`]). The calling process is
    /// the agent: the kernel never signals it, nor PID 1.
    pub fn load(ring_bytes: u32) -> Result<Self, BpfError> {
        preflight()?;
        let load_err = |source| BpfError::Load {
            object: "enforce",
            source,
        };
        let mut open = EnforceSkelBuilder::default()
            .open(skeleton_storage())
            .map_err(load_err)?;
        let (ring, _) = crate::process::ring_geometry(ring_bytes);
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            // Enforcements are rare and wanted at once: wake on every record.
            rodata.wakeup_bytes = 0;
            rodata.agent_tgid = std::process::id();
        }
        let cgroup_root = cgroup2_mount();
        let mut skel = open.load().map_err(load_err)?;
        let mut links = attach_all(skel.object_mut(), &ENFORCE_HOOKS[..1])?;
        if let Some(root) = &cgroup_root {
            let dir = File::open(root).map_err(|e| BpfError::Attach {
                hook: format!("cgroup {}", root.display()),
                source: libbpf_rs::Error::from(e),
            })?;
            for (hook, program) in [
                (&ENFORCE_HOOKS[1], &skel.progs.enforce_connect4),
                (&ENFORCE_HOOKS[2], &skel.progs.enforce_connect6),
                (&ENFORCE_HOOKS[3], &skel.progs.enforce_sendmsg4),
                (&ENFORCE_HOOKS[4], &skel.progs.enforce_sendmsg6),
            ] {
                let link =
                    program
                        .attach_cgroup(dir.as_raw_fd())
                        .map_err(|source| BpfError::Attach {
                            hook: format!("{} on {}", hook.name, root.display()),
                            source,
                        })?;
                links.push(link);
            }
        } else {
            tracing::warn!("no cgroup v2 hierarchy is mounted: deny-connect rules are unavailable");
        }
        Ok(EnforceProgram {
            _links: links,
            skel,
            cgroup_root,
        })
    }

    /// Where the cgroup v2 hierarchy the connect programs are attached to is
    /// mounted; `None` when there is none (deny-connect is then unavailable).
    pub fn cgroup_root(&self) -> Option<&PathBuf> {
        self.cgroup_root.as_ref()
    }

    /// A handle on the ring buffer, to be drained on another thread.
    pub fn events(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel.maps.events, "events")
    }

    /// Runs of these programs the kernel skipped.
    pub fn skipped_runs(&self) -> Result<SkippedRuns, BpfError> {
        SkippedRuns::of(self.skel.object())
    }

    /// Records the ring buffer had no room for, by event type.
    pub fn lost_counter(&self) -> Result<PerCpuCounters, BpfError> {
        ring_losses(&self.skel.maps.lost)
    }

    /// The rule maps, to be replaced from another thread.
    pub fn rules(&self) -> Result<EnforceRules, BpfError> {
        Ok(EnforceRules {
            kill: map_handle(&self.skel.maps.kill_rules, "kill_rules")?,
            connect: map_handle(&self.skel.maps.connect_rules, "connect_rules")?,
            counts: map_handle(&self.skel.maps.rule_counts, "rule_counts")?,
            connect_available: self.cgroup_root.is_some(),
            kill_keys: HashSet::new(),
            connect_keys: HashSet::new(),
        })
    }
}

/// The kernel's rule maps. Each `set_*` replaces the whole rule set: new and
/// changed rules are written first, then the rules no longer wanted are
/// deleted, so a rule kept across a change is never absent.
pub struct EnforceRules {
    kill: MapHandle,
    connect: MapHandle,
    /// Kill rules at 0, connect rules at 1: a hook with none returns at once.
    counts: MapHandle,
    connect_available: bool,
    kill_keys: HashSet<KillKey>,
    connect_keys: HashSet<ConnectKey>,
}

impl EnforceRules {
    /// Replaces the kill rules. Two rules with the same key are refused.
    pub fn set_kill_rules(&mut self, rules: &[KillRuleSpec]) -> Result<(), BpfError> {
        let mut entries = Vec::with_capacity(rules.len());
        let mut keys = HashSet::new();
        for rule in rules {
            let (key, value) = kill_entry(rule)?;
            if !keys.insert(key) {
                return Err(BpfError::Rule(format!(
                    "rule {} matches the same binary as another kill rule ({:?})",
                    rule.rule_id, rule.matches
                )));
            }
            entries.push((key, value));
        }
        // Counted first when rules are added, last when they go: the hook
        // never skips a rule that is in the map.
        let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        if count > 0 {
            self.set_count(0, count)?;
        }
        for (key, value) in &entries {
            self.kill
                .update(bytes_of(key), bytes_of(value), MapFlags::ANY)
                .map_err(|source| BpfError::Map {
                    map: "kill_rules",
                    source,
                })?;
        }
        for stale in self.kill_keys.difference(&keys) {
            let _ = self.kill.delete(bytes_of(stale));
        }
        self.kill_keys = keys;
        if count == 0 {
            self.set_count(0, 0)?;
        }
        Ok(())
    }

    /// Replaces the deny-connect rules. Two rules with the same key are refused.
    pub fn set_connect_rules(&mut self, rules: &[ConnectRuleSpec]) -> Result<(), BpfError> {
        if !rules.is_empty() && !self.connect_available {
            return Err(BpfError::Rule(
                "deny-connect needs a cgroup v2 hierarchy, and none is mounted".into(),
            ));
        }
        let mut entries = Vec::with_capacity(rules.len());
        let mut keys = HashSet::new();
        for rule in rules {
            let (key, value) = connect_entry(rule)?;
            if !keys.insert(key) {
                return Err(BpfError::Rule(format!(
                    "rule {} denies the same destination in the same cgroup as another rule",
                    rule.rule_id
                )));
            }
            entries.push((key, value));
        }
        let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        if count > 0 {
            self.set_count(1, count)?;
        }
        for (key, value) in &entries {
            self.connect
                .update(bytes_of(key), bytes_of(value), MapFlags::ANY)
                .map_err(|source| BpfError::Map {
                    map: "connect_rules",
                    source,
                })?;
        }
        for stale in self.connect_keys.difference(&keys) {
            let _ = self.connect.delete(bytes_of(stale));
        }
        self.connect_keys = keys;
        if count == 0 {
            self.set_count(1, 0)?;
        }
        Ok(())
    }

    fn set_count(&self, index: u32, count: u32) -> Result<(), BpfError> {
        self.counts
            .update(&index.to_ne_bytes(), &count.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| BpfError::Map {
                map: "rule_counts",
                source,
            })
    }
}

fn flags(dry_run: bool) -> u32 {
    if dry_run {
        ENFORCE_DRY_RUN
    } else {
        0
    }
}

/// A NUL-padded copy of `text`, which must leave room for the NUL.
fn padded<const N: usize>(what: &str, text: &str) -> Result<[u8; N], BpfError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() >= N || bytes.contains(&0) {
        return Err(BpfError::Rule(format!(
            "{what} `{text}` must be 1 to {} bytes without NUL",
            N - 1
        )));
    }
    let mut out = [0u8; N];
    out[..bytes.len()].copy_from_slice(bytes);
    Ok(out)
}

fn kill_entry(rule: &KillRuleSpec) -> Result<(KillKey, KillRule), BpfError> {
    let mut key = KillKey {
        match_: 0,
        _pad: 0,
        dev: 0,
        ino: 0,
        name: [0; ENFORCE_PATH_MAX],
    };
    match &rule.matches {
        KillMatch::Inode { dev, ino } => {
            key.match_ = KILL_BY_INODE;
            key.dev = *dev;
            key.ino = *ino;
        }
        KillMatch::Path(path) => {
            key.match_ = KILL_BY_PATH;
            key.name = padded("path", path)?;
        }
        KillMatch::Name(name) => {
            if name.contains('/') {
                return Err(BpfError::Rule(format!(
                    "binary name `{name}` must not contain `/`"
                )));
            }
            key.match_ = KILL_BY_NAME;
            key.name = padded("binary name", name)?;
        }
    }
    let (cgroup_id, cgroup_level) = rule.cgroup.unwrap_or((0, 0));
    let ancestor = match &rule.ancestor {
        Some(comm) => padded::<16>("ancestor", comm)?,
        None => [0; 16],
    };
    Ok((
        key,
        KillRule {
            rule_id: rule.rule_id,
            flags: flags(rule.dry_run),
            cgroup_id,
            cgroup_level,
            _pad: 0,
            ancestor,
        },
    ))
}

fn connect_entry(rule: &ConnectRuleSpec) -> Result<(ConnectKey, ConnectRule), BpfError> {
    let (addr, prefix) = match rule.addr {
        IpAddr::V4(v4) if rule.prefix <= 32 => (v4.to_ipv6_mapped().octets(), 96 + rule.prefix),
        IpAddr::V6(v6) if rule.prefix <= 128 => (v6.octets(), rule.prefix),
        _ => {
            return Err(BpfError::Rule(format!(
                "prefix /{} is too long for {}",
                rule.prefix, rule.addr
            )))
        }
    };
    // Bits past the prefix are zero, so equal rules have equal keys.
    let masked =
        u128::from_be_bytes(addr) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ok((
        ConnectKey {
            prefixlen: 64 + 16 + u32::from(prefix),
            cgroup_id: rule.cgroup_id,
            port: rule.port.unwrap_or(0),
            addr: masked.to_be_bytes(),
        },
        ConnectRule {
            rule_id: rule.rule_id,
            flags: flags(rule.dry_run),
        },
    ))
}

/// The mount point of the cgroup v2 hierarchy, if one is mounted.
pub fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(addr: &str, prefix: u8, port: Option<u16>) -> Result<ConnectKey, BpfError> {
        connect_entry(&ConnectRuleSpec {
            rule_id: 1,
            cgroup_id: 7,
            addr: addr.parse().unwrap(),
            prefix,
            port,
            dry_run: false,
        })
        .map(|(k, _)| k)
    }

    #[test]
    fn ipv4_rules_are_ipv4_mapped_and_masked() {
        let key = connect("10.1.2.3", 8, Some(443)).unwrap();
        assert_eq!({ key.prefixlen }, 64 + 16 + 96 + 8);
        assert_eq!(key.addr[10..12], [0xff, 0xff]);
        assert_eq!(key.addr[12..], [10, 0, 0, 0]);
        assert_eq!({ key.port }, 443);
        assert_eq!({ key.cgroup_id }, 7);
        assert_eq!(
            connect("10.9.9.9", 8, Some(443)).unwrap(),
            key,
            "same network, same key"
        );
        assert!(connect("10.0.0.1", 33, None).is_err());
        assert_eq!({ connect("::", 0, None).unwrap().prefixlen }, 80);
    }

    #[test]
    fn names_too_long_for_the_kernel_map_are_refused() {
        let rule = |m| KillRuleSpec {
            rule_id: 1,
            matches: m,
            cgroup: None,
            ancestor: None,
            dry_run: false,
        };
        let long = "x".repeat(ENFORCE_PATH_MAX);
        assert!(kill_entry(&rule(KillMatch::Path(long.clone()))).is_err());
        assert!(kill_entry(&rule(KillMatch::Name("a/b".into()))).is_err());
        assert!(kill_entry(&rule(KillMatch::Name("nc".into()))).is_ok());
        let mut with_ancestor = rule(KillMatch::Name("nc".into()));
        with_ancestor.ancestor = Some("a-very-long-comm-name".into());
        assert!(kill_entry(&with_ancestor).is_err());
    }
}
