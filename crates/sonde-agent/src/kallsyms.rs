//! Kernel addresses to `function+0xoffset`, from /proc/kallsyms, read on
//! first use (drops are rare on a healthy host).

use std::sync::OnceLock;

pub struct Kallsyms {
    /// Text symbols, sorted by address.
    symbols: OnceLock<Vec<(u64, String)>>,
}

impl Kallsyms {
    pub fn new() -> Self {
        Kallsyms {
            symbols: OnceLock::new(),
        }
    }

    pub fn resolve(&self, addr: u64) -> Option<String> {
        let symbols = self.symbols.get_or_init(load);
        let i = symbols
            .partition_point(|(a, _)| *a <= addr)
            .checked_sub(1)?;
        let (start, name) = &symbols[i];
        Some(format!("{name}+{:#x}", addr - start))
    }
}

impl Default for Kallsyms {
    fn default() -> Self {
        Self::new()
    }
}

fn load() -> Vec<(u64, String)> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut symbols: Vec<(u64, String)> = text
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?;
            let name = f.next()?;
            (addr != 0 && matches!(kind, "t" | "T")).then(|| (addr, name.to_string()))
        })
        .collect();
    symbols.sort_unstable();
    symbols
}
