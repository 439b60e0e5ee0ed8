//! The `/proc/PID/maps` parser: a process's memory mappings as text in, the
//! executable ones out. Pure: no I/O, the caller reads the file.
//!
//! A line looks like
//! `7f2c5a428000-7f2c5a5bd000 r-xp 00028000 fd:01 1835082   /usr/lib/libc.so.6`;
//! the path column is absent for anonymous memory, a `[pseudo]` name for the
//! kernel's special mappings, and ends in ` (deleted)` once the file was
//! unlinked.

/// What backs one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backing {
    /// A file, by the path the process mapped it under.
    File {
        /// The path without the ` (deleted)` suffix.
        path: String,
        deleted: bool,
    },
    /// Anonymous memory (no path, or an `[anon:name]` set with `prctl`):
    /// executable ones are where JIT compilers put their code.
    Anonymous,
    /// `[vdso]`, the kernel's shared object mapped into every process.
    Vdso,
    /// Another kernel-provided mapping (`[vsyscall]`, …), by its name.
    Pseudo(String),
}

/// One executable mapping of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// File offset of `start`.
    pub offset: u64,
    /// Device of the backing file, as `major:minor`.
    pub dev: (u32, u32),
    pub inode: u64,
    pub backing: Backing,
}

impl Mapping {
    pub fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// The file offset an address inside this mapping corresponds to.
    pub fn file_offset(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.start).wrapping_add(self.offset)
    }
}

/// A line that is not in the format the kernel writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed /proc/PID/maps line ({what}): {line:?}")]
pub(crate) struct MalformedLine {
    what: &'static str,
    line: String,
}

/// The executable mappings of `text` (a whole `/proc/PID/maps`), in address
/// order, and the lines that could not be parsed.
pub(crate) fn executable_mappings(text: &str) -> (Vec<Mapping>, Vec<MalformedLine>) {
    let mut mappings = Vec::new();
    let mut malformed = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_line(line) {
            Ok(Some(mapping)) => mappings.push(mapping),
            Ok(None) => {}
            Err(e) => malformed.push(e),
        }
    }
    mappings.sort_by_key(|m| m.start);
    (mappings, malformed)
}

/// One line: `Some` for an executable mapping, `None` for any other.
fn parse_line(line: &str) -> Result<Option<Mapping>, MalformedLine> {
    let bad = |what| MalformedLine {
        what,
        line: line.to_owned(),
    };
    let mut rest = line;
    let mut column = |what| {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (field, tail) = trimmed.split_at(end);
        rest = tail;
        if field.is_empty() {
            Err(bad(what))
        } else {
            Ok(field)
        }
    };
    let range = column("range")?;
    let perms = column("permissions")?;
    let offset = column("offset")?;
    let dev = column("device")?;
    let inode = column("inode")?;
    // The path is the rest of the line after the padding; it may contain spaces.
    let path = rest.trim_start();

    if perms.len() != 4 {
        return Err(bad("permissions"));
    }
    if perms.as_bytes()[2] != b'x' {
        return Ok(None);
    }
    let (start, end) = range.split_once('-').ok_or_else(|| bad("range"))?;
    let start = hex(start).ok_or_else(|| bad("range start"))?;
    let end = hex(end).ok_or_else(|| bad("range end"))?;
    if end < start {
        return Err(bad("range end before start"));
    }
    let offset = hex(offset).ok_or_else(|| bad("offset"))?;
    let (major, minor) = dev.split_once(':').ok_or_else(|| bad("device"))?;
    let major = hex(major)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad("device major"))?;
    let minor = hex(minor)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad("device minor"))?;
    let inode = inode.parse::<u64>().map_err(|_| bad("inode"))?;

    Ok(Some(Mapping {
        start,
        end,
        offset,
        dev: (major, minor),
        inode,
        backing: backing(path, inode),
    }))
}

fn backing(path: &str, inode: u64) -> Backing {
    if path.is_empty() || path.starts_with("[anon:") {
        return Backing::Anonymous;
    }
    if path == "[vdso]" {
        return Backing::Vdso;
    }
    if path.starts_with('[') && path.ends_with(']') && inode == 0 {
        return Backing::Pseudo(path.to_owned());
    }
    match path.strip_suffix(" (deleted)") {
        Some(path) => Backing::File {
            path: path.to_owned(),
            deleted: true,
        },
        None => Backing::File {
            path: path.to_owned(),
            deleted: false,
        },
    }
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
55d0c8a3a000-55d0c8a3b000 r--p 00000000 fd:01 2097410                    /tmp/t/prog
55d0c8a3b000-55d0c8a3c000 r-xp 00001000 fd:01 2097410                    /tmp/t/prog (deleted)
55d0c9f6e000-55d0c9f8f000 rw-p 00000000 00:00 0                          [heap]
7f2c5a400000-7f2c5a428000 r--p 00000000 fd:01 1835082                    /usr/lib/x86_64-linux-gnu/libc.so.6
7f2c5a428000-7f2c5a5bd000 r-xp 00028000 fd:01 1835082                    /usr/lib/x86_64-linux-gnu/libc.so.6
7f2c5a700000-7f2c5a701000 rwxp 00000000 00:00 0 
7f2c5a702000-7f2c5a703000 r-xp 00000000 00:00 0                          [anon:jit code]
7f2c5a704000-7f2c5a705000 r-xp 00000000 103:0a 77                        /opt/my app/lib one.so
7ffd1b7e0000-7ffd1b801000 rw-p 00000000 00:00 0                          [stack]
7ffd1b8c6000-7ffd1b8c8000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn keeps_only_executable_mappings_with_their_backing() {
        let (maps, malformed) = executable_mappings(SAMPLE);
        assert!(malformed.is_empty(), "{malformed:?}");
        let backings: Vec<_> = maps.iter().map(|m| m.backing.clone()).collect();
        assert_eq!(
            backings,
            vec![
                Backing::File {
                    path: "/tmp/t/prog".into(),
                    deleted: true
                },
                Backing::File {
                    path: "/usr/lib/x86_64-linux-gnu/libc.so.6".into(),
                    deleted: false
                },
                Backing::Anonymous,
                Backing::Anonymous,
                Backing::File {
                    path: "/opt/my app/lib one.so".into(),
                    deleted: false
                },
                Backing::Vdso,
                Backing::Pseudo("[vsyscall]".into()),
            ]
        );
    }

    #[test]
    fn parses_numbers_in_each_column() {
        let (maps, _) = executable_mappings(SAMPLE);
        let libc = &maps[1];
        assert_eq!(libc.start, 0x7f2c5a428000);
        assert_eq!(libc.end, 0x7f2c5a5bd000);
        assert_eq!(libc.offset, 0x28000);
        assert_eq!(libc.dev, (0xfd, 0x01));
        assert_eq!(libc.inode, 1835082);
        assert_eq!(maps[4].dev, (0x103, 0x0a));
        assert!(libc.contains(0x7f2c5a428000));
        assert!(!libc.contains(0x7f2c5a5bd000));
        assert_eq!(libc.file_offset(0x7f2c5a429234), 0x29234);
    }

    #[test]
    fn reports_malformed_lines_and_keeps_the_rest() {
        let text = "zz-10 r-xp 0 00:00 0 /a\n\
                    1000-2000 r-x 0 00:00 0 /b\n\
                    1000-2000 r-xp 0 0000 0 /c\n\
                    2000-1000 r-xp 0 00:00 0 /d\n\
                    1000-2000 r-xp 0 00:00 x /e\n\
                    1000-2000 r-xp\n\
                    3000-4000 r-xp 0 08:01 9 /ok\n";
        let (maps, malformed) = executable_mappings(text);
        assert_eq!(malformed.len(), 6, "{malformed:?}");
        assert_eq!(maps.len(), 1);
        assert_eq!(
            maps[0].backing,
            Backing::File {
                path: "/ok".into(),
                deleted: false
            }
        );
    }

    #[test]
    fn empty_maps_of_a_kernel_thread_have_no_mappings() {
        assert_eq!(executable_mappings(""), (vec![], vec![]));
    }
}
