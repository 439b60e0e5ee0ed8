//! The kernel's own view of TCP sockets: `ss -tin` (iproute2).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;

use anyhow::{bail, Context};

/// One socket of `ss -tin`; the numeric `key:value` fields of its info line.
#[derive(Debug, Clone)]
pub struct Socket {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    fields: HashMap<String, u64>,
}

impl Socket {
    /// A counter; ss leaves zero ones out.
    pub fn get(&self, key: &str) -> u64 {
        self.fields.get(key).copied().unwrap_or(0)
    }

    /// Data bytes sent, retransmissions counted once.
    pub fn data_bytes_sent(&self) -> u64 {
        self.get("bytes_sent") - self.get("bytes_retrans")
    }
}

/// The established TCP sockets with `port` at either end.
pub fn snapshot(port: u16) -> anyhow::Result<Vec<Socket>> {
    let filter = format!("( sport = :{port} or dport = :{port} )");
    let out = Command::new("ss")
        .args(["-tinH", "state", "established", &filter])
        .output()
        .context("cannot run ss (iproute2)")?;
    if !out.status.success() {
        bail!("ss failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// A socket line holds the two addresses; the indented line after it, the
/// info.
pub fn parse(text: &str) -> Vec<Socket> {
    let mut sockets: Vec<Socket> = Vec::new();
    for line in text.lines() {
        if line.starts_with(char::is_whitespace) {
            if let Some(socket) = sockets.last_mut() {
                let pairs = line.split_whitespace().filter_map(|t| t.split_once(':'));
                for (key, value) in pairs {
                    if let Ok(n) = value.parse::<u64>() {
                        socket.fields.insert(key.to_string(), n);
                    }
                }
            }
            continue;
        }
        let mut addrs = line
            .split_whitespace()
            .filter_map(|t| t.parse::<SocketAddr>().ok());
        if let (Some(local), Some(peer)) = (addrs.next(), addrs.next()) {
            sockets.push(Socket {
                local,
                peer,
                fields: HashMap::new(),
            });
        }
    }
    sockets
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_ss_tin() {
        let text = "0      0      127.0.0.1:50822 127.0.0.1:43809\n\t bbr wscale:10,10 rto:204 rtt:0.025/0.013 mss:55296 bytes_sent:7919 bytes_retrans:3 bytes_acked:7920 bytes_received:104729 segs_out:5 segs_in:5 bbr:(bw:1bps,mrtt:0.014)\nESTAB 0 0 [::1]:80 [::1]:5000\n\t cubic segs_out:2\n";
        let s = super::parse(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].local.port(), 50822);
        assert_eq!(s[0].peer.port(), 43809);
        assert_eq!(s[0].data_bytes_sent(), 7916);
        assert_eq!(s[0].get("bytes_received"), 104729);
        assert_eq!(s[0].get("segs_in"), 5);
        assert_eq!(s[0].get("unacked"), 0);
        assert_eq!(s[1].local.port(), 80);
        assert_eq!(s[1].get("segs_out"), 2);
    }
}
