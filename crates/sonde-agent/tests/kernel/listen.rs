//! Listening sockets (bpf/network.bpf.c, LISTEN and LISTEN→CLOSE on
//! `inet_sock_set_state`): exactly one event when a socket starts listening
//! and one when it closes, with its address, port, backlog, namespace and
//! the process that called listen().

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;

use sonde_event::{Direction, Endpoint, Event, IpFamily, ListenEvent, ListenState, TcpEnd};

use crate::harness::{start, this_pid, TestAgent};
use crate::netns::{NetPair, A4};

/// A TCP socket of this process bound to `ip` (port chosen by the kernel)
/// and listening with `backlog`; its local port.
fn listen_on(ip: IpAddr, backlog: i32) -> (TcpListener, u16) {
    listen_at(ip, 0, backlog)
}

/// Like [`listen_on`], on `port` (0: chosen by the kernel).
fn listen_at(ip: IpAddr, port: u16, backlog: i32) -> (TcpListener, u16) {
    let family = if ip.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscalls on a descriptor this function owns; the
    // sockaddr structs are fully initialised and their sizes passed.
    unsafe {
        let fd = libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let listener = TcpListener::from_raw_fd(fd);
        let rc = match ip {
            IpAddr::V4(v4) => {
                let mut sa: libc::sockaddr_in = std::mem::zeroed();
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_port = port.to_be();
                sa.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
                libc::bind(
                    fd,
                    (&sa as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
            IpAddr::V6(v6) => {
                let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_port = port.to_be();
                sa.sin6_addr.s6_addr = v6.octets();
                libc::bind(
                    fd,
                    (&sa as *const libc::sockaddr_in6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        };
        assert_eq!(rc, 0, "bind {ip}: {}", std::io::Error::last_os_error());
        let rc = libc::listen(listener.as_raw_fd(), backlog);
        assert_eq!(rc, 0, "listen: {}", std::io::Error::last_os_error());
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }
}

/// The network namespace inode of `path` (`/proc/self/ns/net`, `/run/netns/NAME`).
fn netns_of(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().ino() as u32
}

/// Waits until the events on `local` in `netns` end with a close; returns
/// them all, in order.
fn until_closed(agent: &mut TestAgent, local: Endpoint, netns: u32) -> Vec<ListenEvent> {
    agent.wait_for(
        &format!("the close of the listener on {local:?}"),
        |events| {
            let found: Vec<ListenEvent> = events
                .iter()
                .filter_map(|e| match &**e {
                    Event::Listen(l) if l.local == local && l.netns == netns => Some(l.clone()),
                    _ => None,
                })
                .collect();
            found
                .iter()
                .any(|l| l.state == ListenState::Closed)
                .then_some(found)
        },
    )
}

/// Waits for the listen event on `local` in `netns`.
fn listen_of(agent: &mut TestAgent, local: Endpoint, netns: u32) -> ListenEvent {
    agent.wait_for(&format!("the listen on {local:?}"), |events| {
        events.iter().find_map(|e| match &**e {
            Event::Listen(l) if l.local == local && l.netns == netns => Some(l.clone()),
            _ => None,
        })
    })
}

#[test]
fn listeners_on_ipv4_and_ipv6_loopback_are_reported_open_and_closed() {
    let Some(mut agent) = start() else { return };
    let netns = netns_of("/proc/self/ns/net");
    let (v4, port4) = listen_on("127.0.0.1".parse().unwrap(), 7);
    let (v6, port6) = listen_on("::1".parse().unwrap(), 9);
    let cases = [
        (v4, port4, "127.0.0.1", IpFamily::Ipv4, 7),
        (v6, port6, "::1", IpFamily::Ipv6, 9),
    ];
    let mut listeners = Vec::new();
    for (listener, port, ip, family, backlog) in cases {
        let local = Endpoint {
            ip: ip.parse().unwrap(),
            port,
        };
        let l = listen_of(&mut agent, local, netns);
        assert_eq!(l.state, ListenState::Listen, "{l:?}");
        assert_eq!((l.family, l.backlog), (family, backlog), "{l:?}");
        let owner = l.process.as_ref().expect("the listen() caller");
        assert_eq!(owner.pid, this_pid(), "{l:?}");
        listeners.push((listener, local, family, backlog));
    }
    for (listener, local, family, backlog) in listeners {
        drop(listener);
        let events = until_closed(&mut agent, local, netns);
        let states: Vec<ListenState> = events.iter().map(|l| l.state).collect();
        assert_eq!(
            states,
            [ListenState::Listen, ListenState::Closed],
            "exactly one listen and one close on {local:?}: {events:?}"
        );
        let closed = &events[1];
        assert_eq!((closed.family, closed.backlog), (family, backlog));
        assert_eq!(
            closed.process.as_ref().map(|p| p.pid),
            Some(this_pid()),
            "the close names the listen() caller: {closed:?}"
        );
        assert!(closed.time >= events[0].time);
    }
    // The store holds both, under the type `listen` (published events are durable).
    let stored: Vec<ListenState> = agent
        .stored(sonde_event::EventFilter {
            kinds: vec![sonde_event::EventKind::Listen],
            port: Some(port4),
            ..Default::default()
        })
        .iter()
        .filter_map(|e| match e {
            Event::Listen(l) if l.netns == netns && l.local.ip.to_string() == "127.0.0.1" => {
                Some(l.state)
            }
            _ => None,
        })
        .collect();
    assert_eq!(stored, [ListenState::Listen, ListenState::Closed]);
    // Counted (at least these four: the agent sees every test's listeners).
    let stats = agent.handle.stats().snapshot();
    assert!(stats.listen_events >= 4, "{}", stats.listen_events);
    assert!(stats.records["listen"] >= 4, "{:?}", stats.records);
    assert_eq!(stats.kernel_lost["listen"], 0);
}

/// A listener in a namespace the test made, closed by its owner's exit
/// (the close runs as the kernel releases the exiting process's files).
#[test]
fn a_listener_in_another_network_namespace_is_reported_with_that_namespace() {
    let Some(mut agent) = start() else { return };
    let net = NetPair::create();
    let netns = netns_of(&format!("/run/netns/{}", net.a));
    assert_ne!(netns, netns_of("/proc/self/ns/net"));
    const LISTENER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET)
s.bind((sys.argv[1], 0)); s.listen(int(sys.argv[2]))
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"#;
    let mut child = NetPair::command(&net.a, "/usr/bin/python3", &["-c", LISTENER, A4, "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let local = Endpoint {
        ip: A4.parse().unwrap(),
        port,
    };
    let l = listen_of(&mut agent, local, netns);
    assert_eq!(
        (l.state, l.family, l.backlog),
        (ListenState::Listen, IpFamily::Ipv4, 3),
        "{l:?}"
    );
    let owner = l.process.as_ref().expect("the listen() caller");
    assert_eq!((owner.pid, owner.comm.as_str()), (child.id(), "python3"));
    // EOF on stdin: the script ends without closing the socket.
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let events = until_closed(&mut agent, local, netns);
    let states: Vec<ListenState> = events.iter().map(|l| l.state).collect();
    assert_eq!(
        states,
        [ListenState::Listen, ListenState::Closed],
        "{events:?}"
    );
    assert_eq!(
        events[1].process.as_ref().map(|p| p.pid),
        Some(child.id()),
        "{events:?}"
    );
}

/// Two listeners share a port (127.0.0.1:P and [::1]:P). Closing one must
/// not forget the other's owner: a connection it accepts later is still
/// attributed to the process that listened (regression: it had no owner).
#[test]
fn closing_one_of_two_listeners_on_a_port_keeps_the_others_owner() {
    let Some(mut agent) = start() else { return };
    let netns = netns_of("/proc/self/ns/net");
    let (v4, port) = listen_on("127.0.0.1".parse().unwrap(), 5);
    let (v6, _) = listen_at("::1".parse().unwrap(), port, 5);
    let v6_local = Endpoint {
        ip: "::1".parse().unwrap(),
        port,
    };
    listen_of(&mut agent, v6_local, netns);
    drop(v6);
    until_closed(&mut agent, v6_local, netns);
    // Accept without sending: the owner can only come from the listener.
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (accepted, _) = v4.accept().unwrap();
    drop(accepted);
    drop(client);
    let reports = agent.tcp_reports(
        "the accepted connection's final report",
        |c| c.direction == Direction::Accept && c.local.port == port && c.end != TcpEnd::Open,
        |found| !found.is_empty(),
    );
    assert_eq!(
        reports[0].process.as_ref().map(|p| p.pid),
        Some(this_pid()),
        "{:?}",
        reports[0]
    );
    agent.assert_no_loss();
}
