//! Names of the kernel's drop reasons, read from the running kernel's BTF:
//! the numbers differ across kernel versions, and subsystems (mac80211,
//! openvswitch, …) add their own in the high 16 bits.

use std::collections::HashMap;

use libbpf_rs::btf::types::Enum;
use libbpf_rs::btf::Btf;

#[derive(Debug, Clone, Default)]
pub struct DropReasons {
    names: HashMap<u32, String>,
}

const CORE_PREFIX: &str = "SKB_DROP_REASON_";

impl DropReasons {
    /// Every member of every `*drop_reason` enum in the kernel's BTF. The
    /// core enum's `SKB_DROP_REASON_` prefix is dropped (`NO_SOCKET`).
    pub fn from_running_kernel() -> Result<Self, libbpf_rs::Error> {
        let btf = Btf::from_vmlinux()?;
        let mut names = HashMap::new();
        for e in btf.type_by_kind::<Enum<'_>>() {
            let Some(enum_name) = e.name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !enum_name.ends_with("drop_reason") {
                continue;
            }
            for member in e.iter() {
                let Some(name) = member.name.and_then(|n| n.to_str()) else {
                    continue;
                };
                let name = name.strip_prefix(CORE_PREFIX).unwrap_or(name);
                // Core reasons win over a subsystem's alias of the same value.
                let core = enum_name == "skb_drop_reason";
                let slot = names.entry(member.value as u32);
                if core {
                    slot.insert_entry(name.to_string());
                } else {
                    slot.or_insert_with(|| name.to_string());
                }
            }
        }
        Ok(DropReasons { names })
    }

    /// The reason's name; a reason this kernel's BTF does not name (a newer
    /// kernel's) is shown by number, never dropped.
    pub fn name(&self, reason: u32) -> String {
        self.names
            .get(&reason)
            .cloned()
            .unwrap_or_else(|| format!("UNKNOWN_{reason}"))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
