//! File operations on watched paths: opens, creates, unlinks, renames, chmod
//! and chown, with the flags the caller passed and the result.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Ancestor, Process, Timestamp};

/// One file syscall on a watched path (the kernel filters by path prefix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileEvent {
    /// When the call returned.
    pub time: Timestamp,
    /// The process that made the call.
    pub process: Process,
    /// Parent first.
    pub ancestors: Vec<Ancestor>,
    pub operation: FileOperation,
    /// The path, made absolute (relative paths are resolved from /proc).
    pub path: String,
    /// The rename target.
    pub new_path: Option<String>,
    /// The call's flags as passed: `O_*` for opens, `AT_*` for unlink, chmod
    /// and chown, `RENAME_*` for renames.
    pub flags: u32,
    /// The flags by name (`O_WRONLY`, `O_CREAT`, `AT_REMOVEDIR`, …).
    pub flag_names: Vec<String>,
    /// File mode given to open/creat (with `O_CREAT`) or chmod.
    pub mode: Option<u32>,
    /// New owner for chown (`None`: unchanged).
    pub owner_uid: Option<u32>,
    pub owner_gid: Option<u32>,
    /// The syscall's return: an fd for opens, 0 otherwise; negative errno on failure.
    pub result: i64,
    /// The errno's name on failure (`ENOENT`).
    pub error: Option<String>,
    /// The caller's real and effective uid at the call.
    pub uid: u32,
    pub euid: u32,
    /// The caller passed a relative path: `path` was resolved in user space
    /// from /proc/PID/cwd or the dirfd (racy: the process may have moved on),
    /// and stays relative when the process was already gone.
    pub relative: bool,
    /// A path was longer than the kernel copies (1024 bytes) and was cut.
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileOperation {
    /// open, openat, openat2, creat.
    Open,
    /// unlink, unlinkat, rmdir.
    Unlink,
    Rename,
    Chmod,
    Chown,
}

impl FileOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            FileOperation::Open => "open",
            FileOperation::Unlink => "unlink",
            FileOperation::Rename => "rename",
            FileOperation::Chmod => "chmod",
            FileOperation::Chown => "chown",
        }
    }
}

impl FileEvent {
    /// True for an open that may write (`O_WRONLY`, `O_RDWR`, `O_CREAT`, `O_TRUNC`).
    pub fn writes(&self) -> bool {
        self.operation != FileOperation::Open || self.flags & (0o1 | 0o2 | 0o100 | 0o1000) != 0
    }
}

/// `O_*` names of open flags (x86-64 and arm64 values).
pub fn open_flag_names(flags: u32) -> Vec<String> {
    const NAMES: [(u32, &str); 14] = [
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o10000, "O_DSYNC"),
        (0o40000, "O_DIRECT"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o1000000, "O_NOATIME"),
        (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
        (0o20000000, "__O_TMPFILE"),
    ];
    let mut out = vec![match flags & 0o3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    }
    .to_string()];
    out.extend(
        NAMES
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n.to_string()),
    );
    out
}

/// `AT_*` names (unlinkat, fchmodat2, fchownat) or `RENAME_*` names.
pub fn at_flag_names(operation: FileOperation, flags: u32) -> Vec<String> {
    let names: &[(u32, &str)] = match operation {
        FileOperation::Rename => &[
            (1, "RENAME_NOREPLACE"),
            (2, "RENAME_EXCHANGE"),
            (4, "RENAME_WHITEOUT"),
        ],
        _ => &[
            (0x100, "AT_SYMLINK_NOFOLLOW"),
            (0x200, "AT_REMOVEDIR"),
            (0x1000, "AT_EMPTY_PATH"),
        ],
    };
    names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_are_named() {
        assert_eq!(
            open_flag_names(0o1 | 0o100 | 0o1000 | 0o2000000),
            ["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"]
        );
        assert_eq!(open_flag_names(0), ["O_RDONLY"]);
        assert_eq!(
            at_flag_names(FileOperation::Unlink, 0x200),
            ["AT_REMOVEDIR"]
        );
        assert_eq!(
            at_flag_names(FileOperation::Rename, 1),
            ["RENAME_NOREPLACE"]
        );
    }
}
