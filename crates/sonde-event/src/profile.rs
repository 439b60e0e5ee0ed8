//! CPU profiles: the stacks sampled from one process over one window,
//! symbolized on the node.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Timestamp, Workload};

/// The samples of one process over one window. Continuous profiling stores one
/// per process per window; an on-demand profile is one per process too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Profile {
    /// Start of the window.
    pub time: Timestamp,
    pub duration_ns: u64,
    /// Samples per second per CPU the window was taken at.
    pub hz: u32,
    pub process: Workload,
    /// Every distinct frame of [`stacks`](Profile::stacks), which name them by index.
    pub frames: Vec<Frame>,
    pub stacks: Vec<StackCount>,
    pub stats: ProfileStats,
}

/// A distinct stack and how often it was sampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StackCount {
    /// Indexes into [`Profile::frames`], outermost (root) first, the sampled
    /// frame last; user frames, then kernel frames.
    pub frames: Vec<u32>,
    /// The thread's name (its comm).
    pub thread: String,
    pub samples: u64,
}

/// One frame of a stack. Inlined functions are frames of their own, placed
/// after (inside) the function they were inlined into.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Frame {
    /// The function; `None` when it could not be named (see [`Frame::name`]).
    pub function: Option<String>,
    /// The ELF file (path as the process mapped it), `[kernel]` or `[jit]`.
    pub module: String,
    /// File offset into `module` for user frames, the address for kernel frames.
    pub offset: u64,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub kind: FrameKind,
    pub inlined: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    User,
    Kernel,
}

/// What was lost or could not be resolved in one profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileStats {
    pub samples: u64,
    /// User stacks whose outermost frame is not a thread's entry point
    /// (`_start`, `start_thread`, `clone3`, …): cut short by unwinding.
    pub user_stacks_truncated: u64,
    /// User stacks unwound from `.eh_frame` rather than frame pointers.
    pub user_stacks_unwound_dwarf: u64,
    /// Frames no symbol was found for (shown by module and offset).
    pub unknown_frames: u64,
}

impl Frame {
    /// The name flame graphs show: the function, or `[unknown] module+0xoffset`.
    pub fn name(&self) -> String {
        match &self.function {
            Some(f) => f.clone(),
            None => format!("[unknown] {}+{:#x}", self.module_basename(), self.offset),
        }
    }

    /// The module's file name without its directory.
    pub fn module_basename(&self) -> &str {
        self.module.rsplit('/').next().unwrap_or(&self.module)
    }
}

impl Profile {
    /// Each stack with its frames resolved, outermost first.
    pub fn resolved_stacks(&self) -> impl Iterator<Item = (Vec<&Frame>, &StackCount)> + '_ {
        self.stacks.iter().map(|s| {
            let frames = s
                .frames
                .iter()
                .filter_map(|&i| self.frames.get(i as usize))
                .collect();
            (frames, s)
        })
    }
}
