//! Loads and attaches the network programs (bpf/network.bpf.c).

use std::time::Duration;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapHandle};

use crate::abi::NET_COUNTER_MAX;
use crate::counters::{PerCpuCounters, PerCpuHashCounters, SkippedRuns};
use crate::hooks::{attach_all, NETWORK_HOOKS};
use crate::process::{map_handle, preflight, ring_geometry, ring_losses, skeleton_storage};
use crate::skel::network::{NetworkSkel, NetworkSkelBuilder};
use crate::BpfError;

/// How the network programs are tuned.
#[derive(Debug, Clone, Copy)]
pub struct NetworkOptions {
    pub ring_bytes: u32,
    /// A live connection reports its totals at most this often.
    pub report_interval: Duration,
    /// Drop records each CPU may send per second; drops beyond are counted only.
    pub drop_records_per_sec: u64,
}

/// The loaded, attached network programs. Dropping it detaches them.
pub struct NetworkProgram {
    _links: Vec<Link>,
    skel: NetworkSkel<'static>,
}

impl NetworkProgram {
    pub fn load(options: NetworkOptions) -> Result<Self, BpfError> {
        preflight()?;
        let load_err = |source| BpfError::Load {
            object: "network",
            source,
        };
        let mut open = NetworkSkelBuilder::default()
            .open(skeleton_storage())
            .map_err(load_err)?;
        let (ring, wakeup) = ring_geometry(options.ring_bytes);
        open.maps.events.set_max_entries(ring).map_err(load_err)?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.wakeup_bytes = wakeup;
            rodata.report_interval_ns = options.report_interval.as_nanos() as u64;
            rodata.drop_records_per_sec = options.drop_records_per_sec;
        }
        let mut skel = open.load().map_err(load_err)?;
        let links = attach_all(skel.object_mut(), &NETWORK_HOOKS)?;
        Ok(NetworkProgram {
            _links: links,
            skel,
        })
    }

    pub fn events(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel.maps.events, "events")
    }

    /// Runs of these programs the kernel skipped.
    pub fn skipped_runs(&self) -> Result<SkippedRuns, BpfError> {
        SkippedRuns::of(self.skel.object())
    }

    pub fn lost_counter(&self) -> Result<PerCpuCounters, BpfError> {
        ring_losses(&self.skel.maps.lost)
    }

    /// `abi::NET_*` counters.
    pub fn counters(&self) -> Result<PerCpuCounters, BpfError> {
        Ok(PerCpuCounters::new(
            map_handle(&self.skel.maps.counters, "counters")?,
            "counters",
            NET_COUNTER_MAX,
        ))
    }

    /// The connection table, which the capture programs share.
    pub(crate) fn conns(&self) -> impl std::os::fd::AsFd + '_ {
        &self.skel.maps.conns
    }

    /// UDP flows (`abi::UdpKey` → `abi::UdpCounts`), for user space to read and age out.
    pub fn udp_flows(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel.maps.udp_flows, "udp_flows")
    }

    /// Owners of local UDP ports (`abi::PortKey` → `abi::Owner`).
    pub fn udp_owners(&self) -> Result<MapHandle, BpfError> {
        map_handle(&self.skel.maps.udp_owners, "udp_owners")
    }

    /// Every drop by reason code, whether or not its record was sent.
    pub fn drop_reasons(&self) -> Result<PerCpuHashCounters, BpfError> {
        Ok(PerCpuHashCounters::new(
            map_handle(&self.skel.maps.drop_reasons, "drop_reasons")?,
            "drop_reasons",
        ))
    }
}
