//! Flame graphs: the folded stacks drawn as an interactive SVG by `inferno`.

use std::io::Write;

use inferno::flamegraph::{self, color::MultiPalette, Options, Palette};
use sonde_event::Profile;

use crate::folded::folded_lines;
use crate::RenderError;

/// Draws the flame graph of `profiles` as an SVG with `title` at its top.
///
/// The stacks are those of [`write_folded`](crate::write_folded): one tower
/// per process (its comm at the bottom), widths counted in samples, kernel
/// frames coloured orange (`inferno` reads their `_[k]` suffix and does not
/// show it). Colours are derived from
/// the function names, so a function keeps its colour from one graph to the
/// next.
///
/// Returns [`RenderError::Empty`] when no stack was sampled, rather than the
/// "no valid input" picture `inferno` draws then.
pub fn write_svg(
    profiles: &[Profile],
    title: &str,
    out: &mut impl Write,
) -> Result<(), RenderError> {
    let lines = folded_lines(profiles);
    if lines.is_empty() {
        return Err(RenderError::Empty);
    }
    let mut options = Options::default();
    options.title = title.to_string();
    options.count_name = "samples".to_string();
    options.colors = Palette::Multi(MultiPalette::Java);
    options.hash = true;
    flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_profiles::two_processes;

    #[test]
    fn svg_names_the_functions() {
        let mut out = Vec::new();
        write_svg(&two_processes(), "CPU of server & batch", &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.starts_with("<?xml"), "{}", &svg[..100]);
        assert!(svg.contains("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("CPU of server &amp; batch"));
        for title in [
            "server (80 samples, 80.00%)",
            "batch (20 samples, 20.00%)",
            "crunch (20 samples, 20.00%)",
            "parse (50 samples, 50.00%)",
            "tcp_sendmsg (25 samples, 25.00%)",
            "a:b c (5 samples, 5.00%)",
            "[unknown] libc.so.6+0x2a0 (25 samples, 25.00%)",
        ] {
            assert!(svg.contains(&format!("<title>{title}</title>")), "{title}");
        }
        assert!(
            !svg.contains("_[k]"),
            "the kernel suffix colours, is not shown"
        );
    }

    #[test]
    fn no_samples_is_an_error() {
        let mut profiles = two_processes();
        for profile in &mut profiles {
            for stack in &mut profile.stacks {
                stack.samples = 0;
            }
        }
        let mut out = Vec::new();
        assert!(matches!(
            write_svg(&profiles, "CPU", &mut out),
            Err(RenderError::Empty)
        ));
        assert!(out.is_empty());
        assert!(matches!(
            write_svg(&[], "CPU", &mut out),
            Err(RenderError::Empty)
        ));
    }
}
