//! The crate's one error type.
//!
//! Addresses that cannot be named are not errors: they come back as frames
//! without a function and are counted in [`crate::SymbolizeStats`].

/// Why a process could not be observed, or the symbolizer not started.
#[derive(Debug, thiserror::Error)]
pub enum SymbolizeError {
    /// No process has this id (it exited, or never existed).
    #[error("process {pid} does not exist")]
    NoSuchProcess { pid: u32 },
    /// The process has no user address space: a kernel thread, or a zombie
    /// whose memory is already gone.
    #[error("process {pid} has no user address space (kernel thread or zombie)")]
    NoAddressSpace { pid: u32 },
    /// `/proc/PID/maps` exists but could not be read.
    #[error("cannot read /proc/{pid}/maps: {source}")]
    MapsUnreadable {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    /// The thread that runs blazesym could not be started.
    #[error("cannot start the symbolizer thread: {0}")]
    Thread(#[source] std::io::Error),
}
