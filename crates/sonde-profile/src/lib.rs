//! Rendering CPU profiles: [`sonde_event::Profile`]s (the symbolized stacks
//! of one process over one window) in, the formats people and tools read out.
//! A pure library: each renderer takes the profiles and writes into an
//! `impl Write` or returns its result; nothing here touches files, clocks or
//! the network.
//!
//! The code, file by file:
//! - `stacks.rs`: the one walk over every sampled stack of a set of profiles
//!   (process, thread, frames root first, samples) that the writers share.
//! - `folded.rs`: [`write_folded`], Brendan Gregg's folded stacks
//!   (`comm;root;...;leaf count`), kernel frames suffixed `_[k]`.
//! - `svg.rs`: [`write_svg`], an interactive flame graph drawn by `inferno`
//!   from the folded stacks.
//! - `pprof.rs`: [`encode_pprof`], the gzipped `perftools.profiles.Profile`
//!   protobuf that `go tool pprof` and most profilers' UIs read;
//!   `pprof/messages.rs` declares its messages by hand for `prost`, and
//!   `pprof/tests.rs` decodes what the encoder wrote.
//! - `top.rs`: [`top_self`] and [`top_total`], the functions taking the most
//!   samples, as `perf report` lists them.
//! - `error.rs`: [`RenderError`].
//!
//! Every writer reads the same samples: stacks sampled zero times are left
//! out, and frame indexes past the end of [`Profile::frames`] are skipped, as
//! [`Profile::resolved_stacks`] does.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let profiles: Vec<sonde_event::Profile> = Vec::new();
//! let mut folded = Vec::new();
//! sonde_profile::write_folded(&profiles, &mut folded)?;
//! assert!(folded.is_empty());
//! assert!(matches!(
//!     sonde_profile::write_svg(&profiles, "CPU", &mut Vec::new()),
//!     Err(sonde_profile::RenderError::Empty)
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! [`Profile::frames`]: sonde_event::Profile::frames
//! [`Profile::resolved_stacks`]: sonde_event::Profile::resolved_stacks

mod error;
mod folded;
mod pprof;
mod stacks;
mod svg;
mod top;

#[cfg(test)]
mod test_profiles;

pub use error::RenderError;
pub use folded::write_folded;
pub use pprof::encode_pprof;
pub use svg::write_svg;
pub use top::{top_self, top_total, FunctionShare};
