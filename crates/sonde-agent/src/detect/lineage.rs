//! The detection stage's view of the process tree, built from the exec and
//! exit events it evaluates.
//!
//! Exec events carry their whole [`Process`] and ancestry; network (and
//! file) events carry only a brief [`sonde_event::Workload`]. To evaluate
//! `proc.args`, `proc.pname` or `proc.aname[N]` on those, the stage remembers
//! each image it saw exec, by `exec_id`. An exited image is kept for
//! [`EXITED_GRACE_NS`] of event time (a connection's final report often
//! follows its owner's exit), and the table never holds more than
//! `max_entries` images (oldest first out). Processes already running when
//! the agent started were never seen exec: their events carry what they
//! carry, and ancestor names fall back to the ancestor's file name.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sonde_event::{Ancestor, Process, ProcessExec};

/// How long an exited image stays resolvable (event time).
pub const EXITED_GRACE_NS: u64 = 60_000_000_000;

/// What the stage remembers of one process image: the exec event's process
/// and ancestry.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcInfo {
    pub process: Process,
    /// Parent first, as the exec event gave it.
    pub ancestors: Vec<Ancestor>,
}

/// Images by `exec_id`, bounded.
#[derive(Debug)]
pub struct Lineage {
    by_id: HashMap<String, Arc<ProcInfo>>,
    /// Insertion order, for the size bound.
    order: VecDeque<String>,
    /// (forget at, exec_id) of exited images, in exit order.
    exited: VecDeque<(u64, String)>,
    max_entries: usize,
}

impl Lineage {
    pub fn new(max_entries: usize) -> Lineage {
        Lineage {
            by_id: HashMap::new(),
            order: VecDeque::new(),
            exited: VecDeque::new(),
            max_entries: max_entries.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, exec_id: &str) -> Option<&Arc<ProcInfo>> {
        self.by_id.get(exec_id)
    }

    /// Remembers an exec'd image.
    pub fn on_exec(&mut self, e: &ProcessExec) {
        self.insert(ProcInfo {
            process: e.process.clone(),
            ancestors: e.ancestors.clone(),
        });
    }

    /// Schedules an image to be forgotten; `time_ns` is the exit's time.
    pub fn on_exit(&mut self, p: &Process, time_ns: u64) {
        if self.by_id.contains_key(&p.exec_id) {
            self.exited
                .push_back((time_ns.saturating_add(EXITED_GRACE_NS), p.exec_id.clone()));
        }
    }

    /// Forgets images that exited more than the grace period before `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        while self.exited.front().is_some_and(|(t, _)| *t <= now_ns) {
            if let Some((_, id)) = self.exited.pop_front() {
                self.by_id.remove(&id);
            }
        }
        if self.order.len() > 2 * self.max_entries {
            let live = &self.by_id;
            self.order.retain(|id| live.contains_key(id));
        }
    }

    fn insert(&mut self, info: ProcInfo) {
        let id = info.process.exec_id.clone();
        if self.by_id.insert(id.clone(), Arc::new(info)).is_none() {
            self.order.push_back(id);
        }
        while self.by_id.len() > self.max_entries {
            match self.order.pop_front() {
                Some(old) => {
                    self.by_id.remove(&old);
                }
                None => break,
            }
        }
    }
}

/// A process name for an ancestor sonde never saw exec: the kernel's comm is
/// the executable's file name, cut to 15 bytes.
pub fn comm_of_binary(binary: &str) -> &str {
    let name = binary.rsplit('/').next().unwrap_or(binary);
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// `proc.tree_id`: a number shared by a process and its descendants. It is
/// derived (FNV-1a, 63 bits) from the `exec_id` of the topmost ancestor
/// below init (pid 1): for a service, its main process (for processes started
/// over ssh, the ssh daemon, so its sessions share one tree); for a container,
/// the runtime's shim. A child of init is its own tree's root.
pub fn tree_id(own_exec_id: &str, ancestors: &[Ancestor]) -> i64 {
    let root = ancestors
        .iter()
        .rev()
        .find(|a| a.pid > 1)
        .map_or(own_exec_id, |a| a.exec_id.as_str());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h & (i64::MAX as u64)) as i64
}
