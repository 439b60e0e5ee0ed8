//! JIT symbols: the `/tmp/perf-PID.map` files that JIT compilers (the JVM
//! with `-XX:+DumpPerfMapAtExit` or perf-map-agent, V8 `--perf-basic-prof`,
//! .NET, LuaJIT, …) write for profilers. Pure parsers; the I/O is in
//! `address_space.rs`.
//!
//! Each line is `START SIZE name`, START and SIZE in hex (with or without
//! `0x`), the name the rest of the line. The files are append-only, so they
//! are parsed incrementally: [`PerfMap::append`] takes what was added since
//! the last read. When code is re-JITted at an address already listed, the
//! later line wins.

/// The JIT symbols of one process.
#[derive(Debug, Default)]
pub(crate) struct PerfMap {
    /// Sorted by start; among equal starts, in file order.
    symbols: Vec<JitSymbol>,
    /// Bytes of the file consumed so far (complete lines only).
    consumed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct JitSymbol {
    start: u64,
    size: u64,
    name: String,
}

impl PerfMap {
    /// How many bytes of the file have been parsed: the next read starts here.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Parses the complete lines of `tail` (the file from [`Self::consumed`]
    /// on); a last line without its newline is left for the next read.
    /// Returns how many lines were malformed.
    pub fn append(&mut self, tail: &[u8]) -> usize {
        let Some(last_newline) = tail.iter().rposition(|&b| b == b'\n') else {
            return 0;
        };
        let complete = &tail[..=last_newline];
        let mut malformed = 0;
        let before = self.symbols.len();
        for line in complete.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match parse_line(line) {
                Some(symbol) => self.symbols.push(symbol),
                None => malformed += 1,
            }
        }
        if self.symbols.len() != before {
            // Stable: a re-JITted symbol stays after the one it replaces.
            self.symbols.sort_by_key(|s| s.start);
        }
        self.consumed += complete.len() as u64;
        malformed
    }

    /// The name of the JIT-compiled function containing `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        let after = self.symbols.partition_point(|s| s.start <= addr);
        let symbol = self.symbols[..after].last()?;
        (addr - symbol.start < symbol.size).then_some(symbol.name.as_str())
    }
}

fn parse_line(line: &str) -> Option<JitSymbol> {
    let (start, rest) = line.split_once(char::is_whitespace)?;
    let (size, name) = rest.trim_start().split_once(char::is_whitespace)?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(JitSymbol {
        start: hex(start)?,
        size: hex(size)?,
        name: name.to_owned(),
    })
}

fn hex(s: &str) -> Option<u64> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(digits, 16).ok()
}

/// The pid a process has in its own pid namespace (the last `NSpid:` field of
/// `/proc/PID/status`): JIT runtimes name the perf map after it.
pub(crate) fn namespace_pid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_by_range_and_the_later_line_wins() {
        let mut map = PerfMap::default();
        let text = "7f0000001000 40 LazyCompile:~add /app.js:1\n\
                    0x7f0000002000 0x10 Interpreter\n\
                    7f0000001000 20 re-jitted\n";
        assert_eq!(map.append(text.as_bytes()), 0);
        assert_eq!(map.lookup(0x7f0000001000), Some("re-jitted"));
        assert_eq!(map.lookup(0x7f000000101f), Some("re-jitted"));
        assert_eq!(map.lookup(0x7f0000001020), None);
        assert_eq!(map.lookup(0x7f0000002005), Some("Interpreter"));
        assert_eq!(map.lookup(0x7f0000002010), None);
        assert_eq!(map.lookup(0x1000), None);
        assert_eq!(map.consumed(), text.len() as u64);
    }

    #[test]
    fn names_keep_their_spaces() {
        let mut map = PerfMap::default();
        map.append(b"1000 10 void java.lang.Thread.run(java.lang.Runnable, int)\n");
        assert_eq!(
            map.lookup(0x1008),
            Some("void java.lang.Thread.run(java.lang.Runnable, int)")
        );
    }

    #[test]
    fn leaves_an_unfinished_line_for_the_next_read() {
        let mut map = PerfMap::default();
        let first = b"1000 10 one\n2000 10 tw";
        map.append(first);
        assert_eq!(map.consumed(), 12);
        assert_eq!(map.lookup(0x2000), None);
        map.append(b"2000 10 two\n");
        assert_eq!(map.lookup(0x2000), Some("two"));
        assert_eq!(map.consumed(), 24);
    }

    #[test]
    fn counts_malformed_lines() {
        let mut map = PerfMap::default();
        assert_eq!(map.append(b"zz 10 a\n1000 10\n1000\n\n3000 10 ok\n"), 3);
        assert_eq!(map.lookup(0x3001), Some("ok"));
    }

    #[test]
    fn namespace_pid_is_the_innermost() {
        let status = "Name:\tjava\nTgid:\t4242\nPid:\t4242\nNSpid:\t4242\t17\nNSsid:\t1\n";
        assert_eq!(namespace_pid(status), Some(17));
        assert_eq!(namespace_pid("NSpid:\t99\n"), Some(99));
        assert_eq!(namespace_pid("Name:\tx\n"), None);
    }
}
