//! Reading events stored in an older binary layout.
//!
//! The store writes events with postcard, which is not self-describing: a
//! field added to a struct is read from every stored value, and
//! `#[serde(default)]` (enough for JSON) cannot tell that it is missing.
//! The store therefore decodes a value of an older format inside
//! [`before_stdio`], during which [`Process::stdio`](crate::Process::stdio)
//! (added in store format 3) reads as absent without consuming input.

use std::cell::Cell;

use serde::{Deserialize, Deserializer};

use crate::Stdio;

thread_local! {
    static BEFORE_STDIO: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode` (a postcard decode of a value written before `stdio`
/// existed) with `Process::stdio` read as None. Only postcard decodes
/// belong inside: a JSON decode would skip a `stdio` that is present.
pub fn before_stdio<R>(decode: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            BEFORE_STDIO.set(self.0);
        }
    }
    let _restore = Restore(BEFORE_STDIO.replace(true));
    decode()
}

pub(crate) fn stdio<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Stdio>, D::Error> {
    if BEFORE_STDIO.get() {
        return Ok(None);
    }
    Option::<Stdio>::deserialize(d)
}
