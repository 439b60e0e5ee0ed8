//! The errors of rendering a profile.

use std::io;

/// Why a flame graph could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No stack was sampled even once: there is nothing to draw.
    #[error("no samples to render: the profiles hold no sampled stack")]
    Empty,
    /// Writing the output failed.
    #[error("writing the flame graph: {0}")]
    Io(#[from] io::Error),
}
