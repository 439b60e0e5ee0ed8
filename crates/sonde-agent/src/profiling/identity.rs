//! Who a sampled process is: read from /proc on its first sample, with the
//! same exec id the process events give it.

use std::collections::{HashMap, HashSet};

use sonde_event::{ExecIds, Workload};

use crate::clock::BootClock;
use crate::process_table::c_string;
use crate::procfs::ProcReader;

pub struct Identities {
    proc: ProcReader,
    ids: ExecIds,
    clock: BootClock,
    /// Processes that started before this boot-time instant were named by
    /// the process table from /proc (clock-tick start times), later ones
    /// from their exec records (exact start times).
    table_seeded_before_ns: u64,
    known: HashMap<u32, (u64, Workload)>,
}

impl Identities {
    pub fn new(ids: ExecIds, clock: BootClock, table_seeded_before_ns: u64) -> Self {
        Identities {
            proc: ProcReader::new(),
            ids,
            clock,
            table_seeded_before_ns,
            known: HashMap::new(),
        }
    }

    /// The process `pid` that started at `start_ns` (boot time). A process
    /// already gone is named from the sample alone.
    pub fn get(&mut self, pid: u32, start_ns: u64, raw_comm: &[u8; 16]) -> Workload {
        if let Some((start, w)) = self.known.get(&pid) {
            if *start == start_ns {
                return w.clone();
            }
        }
        let exact_id = self.ids.id(start_ns, pid);
        let workload = match self.proc.read(pid, &self.ids, self.clock) {
            Some(snap) => {
                let p = snap.process;
                Workload {
                    exec_id: if start_ns < self.table_seeded_before_ns {
                        p.exec_id
                    } else {
                        exact_id
                    },
                    pid,
                    comm: p.comm,
                    binary: p.binary,
                    container: p.container,
                }
            }
            None => Workload {
                exec_id: exact_id,
                pid,
                comm: c_string(raw_comm),
                binary: String::new(),
                container: None,
            },
        };
        self.known.insert(pid, (start_ns, workload.clone()));
        workload
    }

    /// Forgets every process but `pids`; returns the pids forgotten.
    pub fn retain_only(&mut self, pids: &HashSet<u32>) -> Vec<u32> {
        let gone: Vec<u32> = self
            .known
            .keys()
            .filter(|p| !pids.contains(p))
            .copied()
            .collect();
        for pid in &gone {
            self.known.remove(pid);
        }
        gone
    }
}
