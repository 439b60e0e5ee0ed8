//! The connection storm on loopback. Each client connects, sends 1 byte and
//! reads until EOF; the server reads the byte and closes first; then the
//! client closes. No SO_LINGER 0: every connection ends with FINs.
//!
//! Ports: the server closes first, so the TIME_WAIT sockets are the
//! server's (127.0.0.1:P <-> client port); the client ends in LAST_ACK ->
//! CLOSED and its ephemeral port is free at once, so the storm cannot run
//! out of them. When a client port comes round again while the server
//! still holds that tuple in TIME_WAIT, Linux accepts the new SYN (its
//! sequence number and timestamp are newer), so neither tcp_tw_reuse,
//! SO_REUSEADDR nor extra 127.0.0.x addresses are needed. A full
//! tcp_max_tw_buckets only means the kernel skips TIME_WAIT. Failed
//! connects are counted, never fatal.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bench_support::time::now_ns;

pub struct Outcome {
    pub server: SocketAddr,
    /// Connections that completed: connected, sent, saw the server's EOF.
    pub connections: u64,
    pub connect_failed: u64,
    /// Connected, but the exchange failed.
    pub io_failed: u64,
    /// Connections the server accepted.
    pub accepted: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Wall clock around the storm, in ns since the epoch.
    pub start_ns: u64,
    pub end_ns: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    connect_failed: AtomicU64,
    io_failed: AtomicU64,
    accepted: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Counters {
    fn error(&self, counter: &AtomicU64, what: &str, e: &std::io::Error) {
        counter.fetch_add(1, Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert_with(|| format!("{what}: {e}"));
    }
}

pub fn run(duration: Duration, workers: usize, acceptors: usize) -> anyhow::Result<Outcome> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server = listener.local_addr()?;
    let counters = Counters::default();
    let start_ns = now_ns();
    let start = Instant::now();
    let end = start + duration;
    std::thread::scope(|s| {
        for _ in 0..acceptors.max(1) {
            s.spawn(|| acceptor(&listener, &counters));
        }
        let clients: Vec<_> = (0..workers.max(1))
            .map(|_| s.spawn(|| client(server, end, &counters)))
            .collect();
        for c in clients {
            let _ = c.join();
        }
        // Wakes the acceptors blocked in accept() (EINVAL).
        // SAFETY: a valid socket fd, owned by `listener`, which outlives this.
        unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
    });
    let elapsed = start.elapsed();
    Ok(Outcome {
        server,
        connections: counters.connections.load(Relaxed),
        connect_failed: counters.connect_failed.load(Relaxed),
        io_failed: counters.io_failed.load(Relaxed),
        accepted: counters.accepted.load(Relaxed),
        first_error: counters.first_error.into_inner().unwrap_or(None),
        elapsed,
        start_ns,
        end_ns: now_ns(),
    })
}

fn acceptor(listener: &TcpListener, counters: &Counters) {
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::InvalidInput => return, // shut down
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                counters.error(&counters.io_failed, "accept", &e);
                return;
            }
        };
        counters.accepted.fetch_add(1, Relaxed);
        let mut byte = [0u8; 1];
        if let Err(e) = stream.read_exact(&mut byte) {
            counters.error(&counters.io_failed, "server read", &e);
        }
        // Dropping the stream closes it: the server's FIN goes first.
    }
}

fn client(server: SocketAddr, end: Instant, counters: &Counters) {
    let mut buf = [0u8; 16];
    while Instant::now() < end {
        let mut stream = match TcpStream::connect(server) {
            Ok(stream) => stream,
            Err(e) => {
                counters.error(&counters.connect_failed, "connect", &e);
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
        };
        let exchange = stream.write_all(&[1]).and_then(|()| loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        });
        match exchange {
            Ok(()) => counters.connections.fetch_add(1, Relaxed),
            Err(e) => {
                counters.error(&counters.io_failed, "client exchange", &e);
                continue;
            }
        };
        // Dropping the stream closes it, after the server's FIN.
    }
}
