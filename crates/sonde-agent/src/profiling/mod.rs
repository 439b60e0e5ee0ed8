//! CPU profiling: samples from `bpf/profile.bpf.c` aggregated per process and
//! window, symbolized on the node (`sonde-symbolize`), stored as
//! [`Profile`](sonde_event::Profile) events (continuous) or answered directly
//! (on-demand sessions).

mod collector;
pub mod continuous;
mod identity;
mod sampler;
pub mod session;
pub mod stats;
mod target;

pub use collector::Collector;
pub use identity::Identities;
pub use session::{ProfileRequest, SessionError, Sessions};
pub use target::Target;
