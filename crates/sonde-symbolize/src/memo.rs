//! Symbols already looked up, so the addresses that recur in thousands of
//! stacks (the hot functions) are asked of blazesym once.
//!
//! Keyed by where the address was looked up (an open file, the vDSO, the
//! kernel) and the offset or address. Bounded: when full it starts over.
//! A cached file's id is never reused, so an entry cannot name the wrong
//! file; entries of closed files just wait for the next start-over.

use std::collections::HashMap;

use crate::blaze::{Blaze, Job, Symbol};
use crate::files::FileId;

/// Entries kept before starting over.
const CAPACITY: usize = 1 << 16;

/// Where an address is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Origin {
    File(FileId),
    /// A vDSO mapping of this length.
    Vdso(u64),
    Kernel,
}

/// What one address came to.
#[derive(Debug)]
pub(crate) enum Lookup {
    Named(Symbol),
    /// The file (or kernel) has no symbol for it.
    NoSymbol,
    /// The file could not be read.
    Failed,
}

#[derive(Debug, Default)]
pub(crate) struct Memo {
    symbols: HashMap<(Origin, u64), Option<Symbol>>,
}

impl Memo {
    /// The symbols of `offsets` in `origin`: from the memo, the rest from one
    /// blazesym `job` (made from the offsets not known yet; `None` if the
    /// origin cannot be read any more).
    pub fn symbols(
        &mut self,
        blaze: &mut Blaze,
        origin: Origin,
        offsets: &[u64],
        job: impl FnOnce(Vec<u64>) -> Option<Job>,
    ) -> Vec<Lookup> {
        let mut misses: Vec<u64> = offsets
            .iter()
            .copied()
            .filter(|&o| !self.symbols.contains_key(&(origin, o)))
            .collect();
        misses.sort_unstable();
        misses.dedup();
        if !misses.is_empty() {
            let reply = match job(misses.clone()) {
                Some(job) => blaze.request(job),
                None => Err("no longer open".into()),
            };
            match reply {
                Ok(symbols) if symbols.len() == misses.len() => {
                    if self.symbols.len() + misses.len() > CAPACITY {
                        self.symbols.clear();
                    }
                    for (offset, symbol) in misses.into_iter().zip(symbols) {
                        self.symbols.insert((origin, offset), symbol);
                    }
                }
                Ok(symbols) => tracing::warn!(
                    asked = misses.len(),
                    got = symbols.len(),
                    "blazesym answered for a different number of addresses"
                ),
                Err(error) => tracing::debug!(?origin, %error, "cannot symbolize"),
            }
        }
        offsets
            .iter()
            .map(|&o| match self.symbols.get(&(origin, o)) {
                Some(Some(symbol)) => Lookup::Named(symbol.clone()),
                Some(None) => Lookup::NoSymbol,
                None => Lookup::Failed,
            })
            .collect()
    }
}
