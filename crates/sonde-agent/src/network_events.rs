//! Network records from the kernel to events: endpoints, the owning
//! process (through the process table), drop reasons by name, interfaces.

use std::net::{IpAddr, Ipv6Addr};

use sonde_bpf::abi::{
    DropEvent, ListenEvent as ListenRecord, TcpEvent, Tuple, DIR_ACCEPT, DIR_CONNECT, LISTEN_OPEN,
    REPORT_INTERIM,
};
use sonde_bpf::DropReasons;
use sonde_event::{
    protocol_name, Direction, Endpoint, Interface, IpFamily, ListenEvent, ListenState, PacketDrop,
    TcpConnection, TcpEnd,
};

use crate::clock::BootClock;
use crate::kallsyms::Kallsyms;
use crate::process_table::ProcessTable;

const TCP_STATES: [&str; 13] = [
    "UNKNOWN",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

pub struct NetworkEvents {
    clock: BootClock,
    reasons: DropReasons,
    kallsyms: Kallsyms,
    /// sonde's own network namespace: interface names resolve only there.
    own_netns: u32,
}

impl NetworkEvents {
    pub fn new(clock: BootClock, reasons: DropReasons) -> Self {
        let own_netns = std::fs::read_link("/proc/self/ns/net")
            .ok()
            .and_then(|l| {
                l.to_str()?
                    .strip_prefix("net:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        NetworkEvents {
            clock,
            reasons,
            kallsyms: Kallsyms::new(),
            own_netns,
        }
    }

    pub fn tcp(&self, table: &ProcessTable, ev: &TcpEvent) -> TcpConnection {
        let (local, remote) = endpoints(&ev.tuple);
        let process = table.owner(&ev.owner);
        let started = ev.start_ns != 0;
        TcpConnection {
            time: self.clock.to_wall(ev.hdr.ktime_ns),
            direction: match ev.direction {
                DIR_CONNECT => Direction::Connect,
                DIR_ACCEPT => Direction::Accept,
                _ => Direction::Unknown,
            },
            local: local.unwrap_or(unspecified()),
            remote: remote.unwrap_or(unspecified()),
            process,
            start_time: started.then(|| self.clock.to_wall(ev.start_ns)),
            duration_ns: started.then(|| ev.hdr.ktime_ns.saturating_sub(ev.start_ns)),
            bytes_sent: ev.bytes_sent,
            bytes_received: ev.bytes_received,
            segments_sent: ev.segs_out,
            segments_received: ev.segs_in,
            srtt_us: ev.srtt_us,
            retransmits: ev.retransmits,
            resets_sent: ev.resets_sent,
            resets_received: ev.resets_received,
            end: tcp_end(ev),
            state: TCP_STATES
                .get(ev.last_state as usize)
                .unwrap_or(&"UNKNOWN")
                .to_string(),
            netns: ev.netns,
        }
    }

    pub fn listen(&self, table: &ProcessTable, ev: &ListenRecord) -> ListenEvent {
        listen_event(
            self.clock.to_wall(ev.hdr.ktime_ns),
            table.owner(&ev.owner),
            ev,
        )
    }

    pub fn drop(&self, table: &ProcessTable, ev: &DropEvent) -> PacketDrop {
        let (source, destination) = endpoints(&ev.tuple);
        PacketDrop {
            time: self.clock.to_wall(ev.hdr.ktime_ns),
            reason: self.reasons.name(ev.reason),
            reason_code: ev.reason,
            protocol: protocol_name(ev.tuple.protocol),
            source,
            destination,
            interface: (ev.ifindex != 0).then(|| Interface {
                index: ev.ifindex,
                name: (ev.netns == self.own_netns)
                    .then(|| interface_name(ev.ifindex))
                    .flatten(),
            }),
            process: table.owner(&ev.owner),
            location: self.kallsyms.resolve(ev.location),
            length: ev.len,
            netns: ev.netns,
        }
    }
}

/// A listen record as an event, with its time and owner resolved.
fn listen_event(
    time: sonde_event::Timestamp,
    process: Option<sonde_event::Workload>,
    ev: &ListenRecord,
) -> ListenEvent {
    const AF_INET: u16 = 2;
    ListenEvent {
        time,
        state: if ev.state == LISTEN_OPEN {
            ListenState::Listen
        } else {
            ListenState::Closed
        },
        local: Endpoint {
            ip: Ipv6Addr::from(ev.addr).to_canonical(),
            port: ev.port,
        },
        family: if ev.family == AF_INET {
            IpFamily::Ipv4
        } else {
            IpFamily::Ipv6
        },
        process,
        backlog: ev.backlog,
        netns: ev.netns,
    }
}

pub(crate) fn unspecified() -> Endpoint {
    Endpoint {
        ip: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        port: 0,
    }
}

/// (source, destination); `None` where the packet's headers were not read.
pub(crate) fn endpoints(t: &Tuple) -> (Option<Endpoint>, Option<Endpoint>) {
    if t.family == 0 {
        return (None, None);
    }
    let ip = |bytes: [u8; 16]| Ipv6Addr::from(bytes).to_canonical();
    (
        Some(Endpoint {
            ip: ip(t.saddr),
            port: t.sport,
        }),
        Some(Endpoint {
            ip: ip(t.daddr),
            port: t.dport,
        }),
    )
}

fn tcp_end(ev: &TcpEvent) -> TcpEnd {
    const SYN_SENT: u8 = 2;
    const CLOSED_BY_FIN: [u8; 5] = [4, 5, 6, 9, 11]; // FIN_WAIT1/2, TIME_WAIT, LAST_ACK, CLOSING
    if ev.report == REPORT_INTERIM {
        TcpEnd::Open
    } else if ev.last_state == SYN_SENT {
        TcpEnd::ConnectFailed
    } else if ev.resets_received > 0 {
        TcpEnd::ResetReceived
    } else if ev.resets_sent > 0 {
        TcpEnd::ResetSent
    } else if CLOSED_BY_FIN.contains(&ev.last_state) {
        TcpEnd::Closed
    } else {
        TcpEnd::Aborted
    }
}

fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: the buffer has IF_NAMESIZE bytes, as if_indextoname requires.
    let name = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if name.is_null() {
        return None;
    }
    Some(crate::process_table::c_string(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_bpf::abi::REPORT_INTERIM;

    #[test]
    fn ipv4_mapped_addresses_come_back_as_ipv4() {
        let mut t = Tuple {
            family: 2,
            sport: 80,
            dport: 5555,
            ..Tuple::default()
        };
        t.saddr[10..].copy_from_slice(&[0xff, 0xff, 10, 0, 0, 1]);
        t.daddr[10..].copy_from_slice(&[0xff, 0xff, 10, 0, 0, 2]);
        let (s, d) = endpoints(&t);
        assert_eq!(s.unwrap().ip.to_string(), "10.0.0.1");
        assert_eq!(
            d.unwrap(),
            Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 5555
            }
        );
        assert_eq!(endpoints(&Tuple::default()), (None, None));
    }

    #[test]
    fn how_connections_end() {
        let ev = |state, rr, rs, report| TcpEvent {
            last_state: state,
            resets_received: rr,
            resets_sent: rs,
            report,
            ..TcpEvent::default()
        };
        assert_eq!(tcp_end(&ev(1, 0, 0, REPORT_INTERIM)), TcpEnd::Open);
        assert_eq!(tcp_end(&ev(2, 1, 0, 0)), TcpEnd::ConnectFailed);
        assert_eq!(tcp_end(&ev(1, 1, 0, 0)), TcpEnd::ResetReceived);
        assert_eq!(tcp_end(&ev(1, 0, 1, 0)), TcpEnd::ResetSent);
        assert_eq!(tcp_end(&ev(9, 0, 0, 0)), TcpEnd::Closed);
        assert_eq!(tcp_end(&ev(1, 0, 0, 0)), TcpEnd::Aborted);
    }

    #[test]
    fn listen_records_become_listen_events() {
        use sonde_bpf::abi::LISTEN_CLOSED;
        let mut v4 = [0u8; 16];
        v4[10..].copy_from_slice(&[0xff, 0xff, 127, 0, 0, 1]);
        let rec = ListenRecord {
            addr: v4,
            port: 8080,
            family: 2,
            netns: 7,
            backlog: 4096,
            state: LISTEN_OPEN,
            ..ListenRecord::default()
        };
        let e = listen_event(sonde_event::Timestamp(5), None, &rec);
        assert_eq!(
            e,
            ListenEvent {
                time: sonde_event::Timestamp(5),
                state: ListenState::Listen,
                local: Endpoint {
                    ip: "127.0.0.1".parse().unwrap(),
                    port: 8080
                },
                family: IpFamily::Ipv4,
                process: None,
                backlog: 4096,
                netns: 7,
            }
        );
        let v6 = ListenRecord {
            addr: std::net::Ipv6Addr::LOCALHOST.octets(),
            family: 10,
            state: LISTEN_CLOSED,
            ..rec
        };
        let e = listen_event(sonde_event::Timestamp(6), None, &v6);
        assert_eq!(
            (e.state, e.family, e.local.ip.to_string()),
            (ListenState::Closed, IpFamily::Ipv6, "::1".to_string())
        );
    }
}
