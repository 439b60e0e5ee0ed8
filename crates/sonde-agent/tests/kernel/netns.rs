//! Two network namespaces joined by a veth pair, made by the test and
//! removed on drop: `a` is 10.200.0.1 / fd00:200::1, `b` is 10.200.0.2 /
//! fd00:200::2.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const A4: &str = "10.200.0.1";
pub const B4: &str = "10.200.0.2";
pub const A6: &str = "fd00:200::1";
pub const B6: &str = "fd00:200::2";

pub struct NetPair {
    pub a: String,
    pub b: String,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .expect("ip from iproute2");
    assert!(status.success(), "ip {args:?}");
}

impl NetPair {
    pub fn create() -> NetPair {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{}{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let pair = NetPair {
            a: format!("sonde-{id}-a"),
            b: format!("sonde-{id}-b"),
        };
        let (va, vb) = (format!("sa{id}"), format!("sb{id}"));
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        ip(&[
            "link", "add", &va, "netns", &pair.a, "type", "veth", "peer", "name", &vb, "netns",
            &pair.b,
        ]);
        for (ns, dev, v4, v6) in [(&pair.a, &va, A4, A6), (&pair.b, &vb, B4, B6)] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev]);
            ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // A veth end has no carrier until the kernel's link watcher has seen
        // both ends up, which can take up to a second.
        for (ns, dev) in [(&pair.a, &va), (&pair.b, &vb)] {
            wait_until_up(ns, dev);
        }
        pair
    }

    /// `program args…` inside namespace `ns`; `ip netns exec` execs it, so the
    /// child's pid is the program's.
    pub fn command(ns: &str, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]).args(args);
        cmd
    }
}

fn wait_until_up(ns: &str, dev: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new("ip")
            .args(["-n", ns, "-br", "link", "show", "dev", dev])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            == Some("UP")
        {
            return;
        }
        assert!(Instant::now() < deadline, "{dev} in {ns} never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Python peers, so the test controls exactly what crosses the wire.
const SERVER: &str = r#"
import socket, sys
addr, port, expect, reply = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.bind((addr, port)); s.listen()
print("ready", flush=True)
c, _ = s.accept()
got = 0
while got < expect:
    data = c.recv(65536)
    if not data: break
    got += len(data)
c.sendall(b"y" * reply)
c.close()
"#;

const CLIENT: &str = r#"
import socket, sys, time
addr, port, send, chunks, pause, linger = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
c = socket.create_connection((addr, port), timeout=2)
for _ in range(chunks):
    c.sendall(b"x" * (send // chunks)); time.sleep(pause)
if linger == 0:
    c.shutdown(socket.SHUT_WR)
got = 0
while True:
    data = c.recv(65536)
    if not data: break
    got += len(data)
time.sleep(linger)
print(got)
"#;

const PYTHON: &str = "/usr/bin/python3";

/// Starts a server in `ns` that reads `expect` bytes and answers `reply`.
pub fn server(ns: &str, addr: &str, port: u16, expect: usize, reply: usize) -> Child {
    let args = [
        addr.to_string(),
        port.to_string(),
        expect.to_string(),
        reply.to_string(),
    ];
    let mut child = NetPair::command(ns, PYTHON, &["-c", SERVER])
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

/// Connects from `ns` to the server at `addr`, sends `send` bytes in `chunks`
/// pieces `pause` seconds apart, half-closes, then reads to the end; returns
/// (pid, bytes received).
pub fn client(
    ns: &str,
    addr: &str,
    port: u16,
    send: usize,
    chunks: usize,
    pause: f64,
) -> (u32, usize) {
    client_closing(ns, addr, port, send, chunks, pause, 0.0)
}

/// Like [`client`], but when `linger` is not zero it does not half-close:
/// the server closes first, and the client closes `linger` seconds later.
pub fn client_closing(
    ns: &str,
    addr: &str,
    port: u16,
    send: usize,
    chunks: usize,
    pause: f64,
    linger: f64,
) -> (u32, usize) {
    let args = [
        addr.to_string(),
        port.to_string(),
        send.to_string(),
        chunks.to_string(),
        pause.to_string(),
        linger.to_string(),
    ];
    let child = NetPair::command(ns, PYTHON, &["-c", CLIENT])
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "client failed");
    (
        pid,
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    )
}
