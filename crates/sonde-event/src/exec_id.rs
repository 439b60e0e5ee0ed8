//! `exec_id`: a host-unique, stable name for one process image. Text (the
//! documented base64url form) in JSON; three integers in the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Builds exec ids as base64url(`<boot id>:<boot-time ns>:<pid>`), in the
/// manner of Tetragon. The boot id makes ids unique across reboots; the
/// CLOCK_BOOTTIME nanosecond at which the image began (exec, fork, or the
/// /proc start time for processes already running) and the pid make them
/// unique within a boot. Deterministic, so the same inputs give the same id
/// in every agent run.
#[derive(Debug, Clone)]
pub struct ExecIds {
    boot_id: String,
}

impl ExecIds {
    pub fn new(boot_id: &str) -> Self {
        // The first group of the UUID is plenty to tell boots of one host apart.
        let short = boot_id.trim().split('-').next().unwrap_or_default();
        ExecIds {
            boot_id: short.to_string(),
        }
    }

    /// Reads the kernel's boot id.
    pub fn for_this_boot() -> std::io::Result<Self> {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|id| Self::new(&id))
    }

    pub fn id(&self, boot_ns: u64, pid: u32) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{boot_ns}:{pid}", self.boot_id))
    }
}

/// The binary form: the id's three parts when it is one of ours, the text
/// otherwise, so that every string round-trips.
#[derive(Serialize, Deserialize)]
enum Packed<'a> {
    Parts { boot: u32, boot_ns: u64, pid: u32 },
    Text(std::borrow::Cow<'a, str>),
}

impl<'a> Packed<'a> {
    fn of(id: &'a str) -> Self {
        Self::parts(id).unwrap_or(Packed::Text(id.into()))
    }

    fn parts(id: &str) -> Option<Self> {
        let text = URL_SAFE_NO_PAD.decode(id).ok()?;
        let mut fields = text.split(|b| *b == b':');
        let (boot, boot_ns, pid) = (fields.next()?, fields.next()?, fields.next()?);
        // Only the canonical form (as `ExecIds::id` writes it) is packed, so
        // that unpacking reproduces the string exactly; anything else stays
        // text. The engine itself rejects non-canonical base64 (padding,
        // stray trailing bits).
        let canonical = fields.next().is_none()
            && boot.len() == 8
            && boot.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && is_canonical_decimal(boot_ns)
            && is_canonical_decimal(pid);
        if !canonical {
            return None;
        }
        let ascii = |digits| std::str::from_utf8(digits).ok();
        Some(Packed::Parts {
            boot: u32::from_str_radix(ascii(boot)?, 16).ok()?,
            boot_ns: ascii(boot_ns)?.parse().ok()?,
            pid: ascii(pid)?.parse().ok()?,
        })
    }

    fn text(&self) -> String {
        match self {
            Packed::Parts { boot, boot_ns, pid } => {
                URL_SAFE_NO_PAD.encode(format!("{boot:08x}:{boot_ns}:{pid}"))
            }
            Packed::Text(text) => text.to_string(),
        }
    }
}

/// Digits only, no leading zero (but "0" itself), small enough to parse.
fn is_canonical_decimal(digits: &[u8]) -> bool {
    !digits.is_empty()
        && digits.len() <= 19
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
}

/// `#[serde(with = "packed")]` for an exec id field.
pub mod packed {
    use super::*;

    pub fn serialize<S: Serializer>(id: &str, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(id)
        } else {
            Packed::of(id).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)
        } else {
            Packed::deserialize(d).map(|p| p.text())
        }
    }
}

/// `#[serde(with = "packed_option")]` for an optional exec id field.
pub mod packed_option {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wrapped(#[serde(with = "packed")] String);

    pub fn serialize<S: Serializer>(id: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        id.as_deref().map(|id| Wrapped(id.to_string())).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let ids = ExecIds::new("9f8a2c1d-0000-4000-8000-000000000000\n");
        assert_eq!(ids.id(5, 42), ids.id(5, 42));
        assert_ne!(ids.id(5, 42), ids.id(6, 42));
        assert_ne!(ids.id(5, 42), ids.id(5, 43));
        let decoded = URL_SAFE_NO_PAD.decode(ids.id(123, 7)).unwrap();
        assert_eq!(decoded, b"9f8a2c1d:123:7");
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "packed")]
        id: String,
        #[serde(with = "packed_option")]
        parent: Option<String>,
    }

    #[test]
    fn every_string_round_trips_and_ours_pack_small() {
        let ids = ExecIds::new("0009f8a2-0000");
        for id in [
            ids.id(1_057_002_238_715, 15560),
            "not base64!".into(),
            String::new(),
            URL_SAFE_NO_PAD.encode("a:1:2"),
            URL_SAFE_NO_PAD.encode("0000000g:1:2"),
        ] {
            for parent in [None, Some(id.clone())] {
                let holder = Holder {
                    id: id.clone(),
                    parent,
                };
                let bin = postcard::to_stdvec(&holder).unwrap();
                assert_eq!(
                    postcard::from_bytes::<Holder>(&bin).unwrap(),
                    holder,
                    "{id}"
                );
                let json = serde_json::to_string(&holder).unwrap();
                assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), holder);
            }
        }
        let ours = postcard::to_stdvec(&Holder {
            id: ids.id(1_057_002_238_715, 15560),
            parent: None,
        })
        .unwrap();
        assert!(ours.len() <= 16, "{} bytes", ours.len());
    }
}
