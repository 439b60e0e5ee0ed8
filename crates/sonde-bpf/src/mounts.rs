//! The pseudo file systems BPF needs: tracefs (tracepoint ids) and bpffs
//! (pinning). Mounted on demand when running as root.

use std::fs;
use std::path::Path;

use nix::mount::{mount, MsFlags};
use serde::Serialize;

use crate::BpfError;

/// A pseudo file system sonde may need.
#[derive(Debug, Clone, Copy)]
pub struct SpecialFs {
    pub fstype: &'static str,
    pub path: &'static str,
}

pub const TRACEFS: SpecialFs = SpecialFs {
    fstype: "tracefs",
    path: "/sys/kernel/tracing",
};
pub const BPFFS: SpecialFs = SpecialFs {
    fstype: "bpf",
    path: "/sys/fs/bpf",
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum MountState {
    /// Already mounted at this path.
    Mounted(String),
    /// Mounted by sonde just now.
    MountedNow(String),
    Missing(String),
}

impl MountState {
    pub fn is_available(&self) -> bool {
        !matches!(self, MountState::Missing(_))
    }
}

impl SpecialFs {
    /// Where this file system is mounted, if anywhere.
    pub fn mounted_at(&self) -> Option<String> {
        let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
        mounts.lines().find_map(|line| {
            let mut fields = line.split_whitespace();
            let (_dev, dir, fstype) = (fields.next()?, fields.next()?, fields.next()?);
            (fstype == self.fstype).then(|| dir.to_string())
        })
    }

    /// Finds the mount, mounting it at its usual path when `may_mount`.
    pub fn ensure(&self, may_mount: bool) -> MountState {
        if let Some(dir) = self.mounted_at() {
            return MountState::Mounted(dir);
        }
        if !may_mount {
            return MountState::Missing("not mounted, and mounting needs root".into());
        }
        let target = Path::new(self.path);
        match mount(
            Some(self.fstype),
            target,
            Some(self.fstype),
            MsFlags::empty(),
            None::<&str>,
        ) {
            Ok(()) => MountState::MountedNow(self.path.into()),
            Err(e) => MountState::Missing(format!("mount -t {} failed: {e}", self.fstype)),
        }
    }

    /// Like [`ensure`](Self::ensure), as an error when it cannot be had.
    pub fn require(&self, may_mount: bool) -> Result<String, BpfError> {
        match self.ensure(may_mount) {
            MountState::Mounted(dir) | MountState::MountedNow(dir) => Ok(dir),
            MountState::Missing(reason) => Err(BpfError::NotMounted {
                fs: self.fstype,
                reason,
                fix: format!("mount -t {0} {0} {1}", self.fstype, self.path),
            }),
        }
    }
}
