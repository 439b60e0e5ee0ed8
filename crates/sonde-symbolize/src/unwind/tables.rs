//! One ELF file's unwind tables (`.eh_frame` with its `.eh_frame_hdr`
//! index, or `.debug_frame`), read once, and where a mapping of the file
//! puts them in a process.
//!
//! Addresses in the tables are the file's own (SVMAs, as linked). A mapping
//! places them: it maps file offset `offset` at `start`, and the `PT_LOAD`
//! segment holding that offset says which SVMA the offset has, so every
//! SVMA of the file moves by the same bias, `(start - offset) - (vaddr -
//! p_offset)`: zero for a non-PIE executable linked at its load address,
//! the load address for a PIE or a shared library linked at 0.

use std::ops::Range;
use std::sync::Arc;

use framehop::{ExplicitModuleSectionInfo, Module};
use object::{
    Architecture, CompressionFormat, Object, ObjectSection, ObjectSegment, ReadRef, SegmentFlags,
};

use crate::maps::Mapping;

/// The section bytes a module is built from; shared by every process (and
/// every mapping) of the file.
pub(crate) type Bytes = Arc<[u8]>;

/// A section larger than this is not read: no real unwind table comes near
/// it, and memory must stay bounded whatever a process maps.
const MAX_SECTION_BYTES: u64 = 64 << 20;

const PAGE: u64 = 4096;

/// Why a file's tables could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TablesError {
    #[error("not a readable ELF file: {0}")]
    Parse(#[from] object::Error),
    #[error("built for {0:?}, not x86_64")]
    Architecture(Architecture),
}

/// The unwind tables of one ELF file and what places them.
#[derive(Debug, Default)]
pub(crate) struct UnwindTables {
    segments: Vec<Segment>,
    /// The lowest `PT_LOAD` address, page-aligned: module-relative
    /// addresses count from it.
    base_svma: u64,
    text_svma: Option<Range<u64>>,
    got_svma: Option<Range<u64>>,
    eh_frame: Option<Section>,
    eh_frame_hdr: Option<Section>,
    /// Read only when there is no `.eh_frame`.
    debug_frame: Option<Bytes>,
}

#[derive(Debug)]
struct Section {
    svma: Range<u64>,
    data: Bytes,
}

/// One `PT_LOAD` program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub offset: u64,
    pub file_size: u64,
    pub vaddr: u64,
    pub executable: bool,
}

impl UnwindTables {
    /// Reads the tables of the ELF image in `data` (a whole file, or the
    /// vDSO's bytes).
    pub fn parse<'data, R: ReadRef<'data>>(data: R) -> Result<Self, TablesError> {
        let file = object::File::parse(data)?;
        if file.architecture() != Architecture::X86_64 {
            return Err(TablesError::Architecture(file.architecture()));
        }
        let segments: Vec<Segment> = file
            .segments()
            .map(|s| {
                let (offset, file_size) = s.file_range();
                let executable =
                    matches!(s.flags(), SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0);
                Segment {
                    offset,
                    file_size,
                    vaddr: s.address(),
                    executable,
                }
            })
            .collect();
        let base_svma = segments.iter().map(|s| s.vaddr).min().unwrap_or(0) & !(PAGE - 1);
        let svma = |name| {
            let section = file.section_by_name(name)?;
            Some(section.address()..section.address().saturating_add(section.size()))
        };
        let eh_frame = read_section(&file, ".eh_frame")?;
        let eh_frame_hdr = match eh_frame {
            Some(_) => read_section(&file, ".eh_frame_hdr")?,
            None => None,
        };
        let debug_frame = match eh_frame {
            Some(_) => None,
            None => read_section(&file, ".debug_frame")?.map(|s| s.data),
        };
        Ok(Self {
            segments,
            base_svma,
            text_svma: svma(".text"),
            got_svma: svma(".got"),
            eh_frame,
            eh_frame_hdr,
            debug_frame,
        })
    }

    /// True if the file has tables to unwind with (otherwise its code is
    /// unwound with frame pointers).
    pub fn has_tables(&self) -> bool {
        self.eh_frame.is_some() || self.debug_frame.is_some()
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        let section = |s: &Option<Section>| s.as_ref().map_or(0, |s| s.data.len());
        section(&self.eh_frame)
            + section(&self.eh_frame_hdr)
            + self.debug_frame.as_ref().map_or(0, |d| d.len())
    }

    /// The module for `mapping`, one executable mapping of this file;
    /// `None` if no `PT_LOAD` segment holds the mapped offset.
    pub fn module(&self, name: &str, mapping: &Mapping) -> Option<Module<Bytes>> {
        let bias = bias(&self.segments, mapping)?;
        let section = |s: &Option<Section>| s.as_ref().map(|s| (s.svma.clone(), s.data.clone()));
        let (eh_frame_svma, eh_frame) = section(&self.eh_frame).unzip();
        let (eh_frame_hdr_svma, eh_frame_hdr) = section(&self.eh_frame_hdr).unzip();
        let info = ExplicitModuleSectionInfo {
            base_svma: self.base_svma,
            text_svma: self.text_svma.clone(),
            got_svma: self.got_svma.clone(),
            eh_frame_svma,
            eh_frame,
            eh_frame_hdr_svma,
            eh_frame_hdr,
            debug_frame: self.debug_frame.clone(),
            ..ExplicitModuleSectionInfo::default()
        };
        Some(Module::new(
            name.to_owned(),
            mapping.start..mapping.end,
            self.base_svma.wrapping_add(bias),
            info,
        ))
    }
}

/// Reads section `name`, if present, uncompressed and not too large.
fn read_section<'data, R: ReadRef<'data>>(
    file: &object::File<'data, R>,
    name: &str,
) -> Result<Option<Section>, object::Error> {
    let Some(section) = file.section_by_name(name) else {
        return Ok(None);
    };
    if section.compressed_file_range()?.format != CompressionFormat::None {
        tracing::debug!(name, "compressed unwind section not read");
        return Ok(None);
    }
    if section.size() > MAX_SECTION_BYTES {
        tracing::debug!(
            name,
            size = section.size(),
            "oversized unwind section not read"
        );
        return Ok(None);
    }
    let data = section.data()?;
    if data.is_empty() {
        return Ok(None);
    }
    let start = section.address();
    Ok(Some(Section {
        svma: start..start.saturating_add(section.size()),
        data: data.into(),
    }))
}

/// How far `mapping` moves the file's addresses (wrapping: a library linked
/// above where it is mapped moves them down). Taken from the `PT_LOAD`
/// segment holding the mapped file offset, an executable one first (two
/// segments may share a page).
pub(crate) fn bias(segments: &[Segment], mapping: &Mapping) -> Option<u64> {
    let holds = |s: &&Segment| {
        s.offset & !(PAGE - 1) <= mapping.offset
            && mapping.offset < s.offset.saturating_add(s.file_size.max(1))
    };
    let segment = segments
        .iter()
        .filter(holds)
        .find(|s| s.executable)
        .or_else(|| segments.iter().find(holds))?;
    let mapped_at = mapping.start.wrapping_sub(mapping.offset);
    let linked_at = segment.vaddr.wrapping_sub(segment.offset);
    Some(mapped_at.wrapping_sub(linked_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::Backing;

    fn mapping(start: u64, end: u64, offset: u64) -> Mapping {
        Mapping {
            start,
            end,
            offset,
            dev: (0, 0),
            inode: 1,
            backing: Backing::File {
                path: "/x".into(),
                deleted: false,
            },
        }
    }

    fn load(offset: u64, file_size: u64, vaddr: u64, executable: bool) -> Segment {
        Segment {
            offset,
            file_size,
            vaddr,
            executable,
        }
    }

    #[test]
    fn a_non_pie_executable_is_not_moved() {
        // Debian's /usr/bin/python3.11.
        let segments = [
            load(0, 0x1e3e8, 0x400000, false),
            load(0x1f000, 0x2b2289, 0x41f000, true),
            load(0x2d2000, 0x272968, 0x6d2000, false),
        ];
        let text = mapping(0x41f000, 0x6d2000, 0x1f000);
        assert_eq!(bias(&segments, &text), Some(0));
    }

    #[test]
    fn a_library_moves_by_its_load_address() {
        // Debian's libc.so.6, mapped as a process maps it.
        let segments = [
            load(0, 0x25388, 0, false),
            load(0x26000, 0x1550fc, 0x26000, true),
            load(0x17c000, 0x52c31, 0x17c000, false),
            load(0x1cf8d0, 0x4f98, 0x1cf8d0, false),
        ];
        let text = mapping(0x7ffb_952c_8000, 0x7ffb_9541_e000, 0x26000);
        assert_eq!(bias(&segments, &text), Some(0x7ffb_952a_2000));
    }

    #[test]
    fn a_segment_starting_mid_page_is_placed_by_its_offset() {
        // The code segment starts 0x380 into its first page, linked one
        // page above its file offset.
        let segments = [
            load(0, 0x26340, 0, false),
            load(0x26380, 0x153ead, 0x27380, true),
        ];
        let text = mapping(0x7f00_0002_7000, 0x7f00_0017_b000, 0x26000);
        let bias = bias(&segments, &text).unwrap();
        // The segment's first byte lands where the mapping puts its offset.
        assert_eq!(0x27380 + bias, text.start + (0x26380 - text.offset));
    }

    #[test]
    fn a_library_linked_above_its_mapping_moves_down() {
        let segments = [load(0x1000, 0x1000, 0x7000_1000, true)];
        let text = mapping(0x1000_1000, 0x1000_2000, 0x1000);
        let bias = bias(&segments, &text).unwrap();
        assert_eq!(0x7000_1000u64.wrapping_add(bias), 0x1000_1000);
    }

    #[test]
    fn a_mapping_no_segment_holds_is_not_placed() {
        let segments = [load(0, 0x1000, 0, true)];
        assert_eq!(bias(&segments, &mapping(0x1000, 0x2000, 0x5000)), None);
        assert_eq!(bias(&[], &mapping(0x1000, 0x2000, 0)), None);
    }

    #[test]
    fn garbage_is_not_an_elf_file() {
        assert!(matches!(
            UnwindTables::parse(&b"not an ELF file at all"[..]),
            Err(TablesError::Parse(_))
        ));
        assert!(UnwindTables::parse(&[][..]).is_err());
    }

    #[test]
    fn reads_this_test_binary_s_eh_frame() {
        let data = std::fs::read("/proc/self/exe").unwrap();
        let tables = UnwindTables::parse(&*data).unwrap();
        assert!(tables.has_tables());
        assert!(tables.eh_frame_hdr.is_some());
        assert!(tables.bytes() > 0);
        assert!(tables.segments.iter().any(|s| s.executable));
    }
}
