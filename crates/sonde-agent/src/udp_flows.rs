//! UDP flows: the kernel counts packets per 5-tuple in a map; each report
//! interval this reads it, reports the flows that carried packets since the
//! last report, and forgets the flows idle past the idle timeout.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use libbpf_rs::{MapCore, MapFlags, MapHandle};
use sonde_bpf::abi::{Owner, PortKey, UdpCounts, UdpKey};
use sonde_bpf::decode::{bytes_of, read};
use sonde_event::{Endpoint, UdpFlow};

use crate::clock::BootClock;
use crate::process_table::ProcessTable;

pub struct UdpReporter {
    flows: MapHandle,
    owners: MapHandle,
    clock: BootClock,
    idle_ns: u64,
    /// Each flow's `last_ns` as of its last report.
    reported: HashMap<UdpKey, u64>,
}

impl UdpReporter {
    pub fn new(
        flows: MapHandle,
        owners: MapHandle,
        clock: BootClock,
        idle: std::time::Duration,
    ) -> Self {
        UdpReporter {
            flows,
            owners,
            clock,
            idle_ns: idle.as_nanos() as u64,
            reported: HashMap::new(),
        }
    }

    /// The flows active since the last report.
    pub fn report(&mut self, table: &ProcessTable) -> Vec<UdpFlow> {
        let now = BootClock::now_boot_ns();
        // Keys first: deleting while walking a hash map restarts the walk.
        let keys: Vec<Vec<u8>> = self.flows.keys().collect();
        let mut out = Vec::new();
        for raw in keys {
            let (Some(key), Ok(Some(value))) =
                (read::<UdpKey>(&raw), self.flows.lookup(&raw, MapFlags::ANY))
            else {
                continue;
            };
            let Some(counts) = read::<UdpCounts>(&value) else {
                continue;
            };
            if counts.last_ns > self.reported.get(&key).copied().unwrap_or(0) {
                out.push(self.flow(table, &key, &counts, now));
                self.reported.insert(key, counts.last_ns);
            }
            if now.saturating_sub(counts.last_ns) > self.idle_ns {
                let _ = self.flows.delete(&raw);
                self.reported.remove(&key);
            }
        }
        out
    }

    fn flow(&self, table: &ProcessTable, key: &UdpKey, c: &UdpCounts, now: u64) -> UdpFlow {
        let endpoint = |addr: [u8; 16], port| Endpoint {
            ip: Ipv6Addr::from(addr).to_canonical(),
            port,
        };
        let port_key = PortKey {
            netns: key.netns,
            port: key.lport,
            _pad: 0,
        };
        let owner = self
            .owners
            .lookup(bytes_of(&port_key), MapFlags::ANY)
            .ok()
            .flatten()
            .and_then(|v| read::<Owner>(&v));
        UdpFlow {
            time: self.clock.to_wall(now),
            local: endpoint(key.laddr, key.lport),
            remote: endpoint(key.raddr, key.rport),
            process: owner.and_then(|o| table.owner(&o)),
            first_seen: self.clock.to_wall(c.first_ns),
            last_seen: self.clock.to_wall(c.last_ns),
            bytes_sent: c.bytes_out,
            bytes_received: c.bytes_in,
            packets_sent: c.packets_out,
            packets_received: c.packets_in,
            netns: key.netns,
        }
    }
}
