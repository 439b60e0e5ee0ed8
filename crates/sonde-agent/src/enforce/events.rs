//! ENFORCE records → [`Enforcement`] events, named and attributed.

use std::net::{IpAddr, Ipv6Addr};

use sonde_bpf::abi::{
    EnforceEvent, ENFORCE_DENY_CONNECT, ENFORCE_DENY_SEND, ENFORCE_DRY_RUN, ENFORCE_KILL,
    ENFORCE_SPARED,
};
use sonde_event::{Endpoint, Enforcement, EnforcementAction};

use super::RuleNames;
use crate::clock::BootClock;
use crate::process_table::{c_string, ProcessTable};

/// The event of one ENFORCE record; `None` for an action this sonde does
/// not know (counted by the caller as a decode error).
pub(crate) fn enforcement(
    ev: &EnforceEvent,
    names: &RuleNames,
    table: &ProcessTable,
    clock: BootClock,
) -> Option<Enforcement> {
    let action = match ev.action {
        ENFORCE_KILL => EnforcementAction::Kill,
        ENFORCE_DENY_CONNECT => EnforcementAction::DenyConnect,
        ENFORCE_DENY_SEND => EnforcementAction::DenySend,
        _ => return None,
    };
    let flags = u32::from(ev.flags);
    let (binary, destination) = match action {
        EnforcementAction::Kill => (Some(c_string(&ev.binary)), None),
        EnforcementAction::DenyConnect | EnforcementAction::DenySend => {
            let v6 = Ipv6Addr::from(ev.daddr);
            let ip = v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4);
            (None, Some(Endpoint { ip, port: ev.dport }))
        }
    };
    // Connect records come from cgroup programs, which cannot read the task's start time.
    let start_ns = (ev.task.start_ns != 0).then_some(ev.task.start_ns);
    let mut process = table.workload_of(ev.task.pid, start_ns, &ev.comm);
    if let (Some(p), Some(binary)) = (&mut process, &binary) {
        // The kernel's word on the new image: the table may still hold the old one.
        p.binary.clone_from(binary);
        p.comm = c_string(&ev.comm);
    }
    Some(Enforcement {
        time: clock.to_wall(ev.hdr.ktime_ns),
        action,
        dry_run: flags & ENFORCE_DRY_RUN != 0,
        spared: flags & ENFORCE_SPARED != 0,
        rule: names.name(ev.rule_id),
        pid: ev.task.pid,
        tid: ev.task.tid,
        comm: c_string(&ev.comm),
        binary,
        destination,
        cgroup_id: ev.cgroup_id,
        error: (ev.error != 0).then_some(ev.error),
        process,
    })
}
