//! Which processes a profile is for.

use sonde_event::Workload;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Pid(u32),
    /// A container id, or a unique prefix of one (as `docker ps` shows).
    Container(String),
}

impl Target {
    pub fn matches(&self, process: &Workload) -> bool {
        match self {
            Target::All => true,
            Target::Pid(pid) => process.pid == *pid,
            Target::Container(id) => process
                .container
                .as_ref()
                .is_some_and(|c| c.id.starts_with(id.as_str())),
        }
    }

    /// The process the kernel may filter on itself.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Target::Pid(pid) => Some(*pid),
            Target::All | Target::Container(_) => None,
        }
    }
}
