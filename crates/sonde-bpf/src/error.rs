use std::path::PathBuf;

/// Why the kernel side could not start. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error("sonde must run as root to load kernel programs: run it with sudo")]
    NotRoot,
    #[error(
        "this kernel has no BTF at {0}: sonde needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
    )]
    NoBtf(PathBuf),
    #[error("{fs} is not mounted and could not be mounted ({reason}): mount it with `{fix}`")]
    NotMounted {
        fs: &'static str,
        reason: String,
        fix: String,
    },
    #[error("loading the {object} programs failed: {source}; run `sonde doctor` to see what this kernel supports")]
    Load {
        object: &'static str,
        source: libbpf_rs::Error,
    },
    #[error(
        "attaching to {hook} failed: {source}; run `sonde doctor` to see what this kernel supports"
    )]
    Attach {
        hook: String,
        source: libbpf_rs::Error,
    },
    #[error("enforcement rule refused: {0}")]
    Rule(String),
    #[error("reading BPF map {map}: {source}")]
    Map {
        map: &'static str,
        source: libbpf_rs::Error,
    },
    #[error("watched path `{path}`: {reason}")]
    WatchPath { path: String, reason: String },
}
