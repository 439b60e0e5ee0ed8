//! User-space symbolization against live (and dead) C programs: names,
//! source lines, inlining, exited processes, deleted and stripped
//! executables, addresses nothing maps, the vDSO.

mod support;

use std::path::Path;

use sonde_event::{Frame, FrameKind};
use sonde_symbolize::{AddressSpaces, SymbolizeError, Symbolizer};
use support::{compile, line_of, symbol_file_offset, Program};

const PROGRAM: &str = r#"#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int work(int x) { /* work-line */
    return x * 3 + 1;
}

int main(void) {
    char c;
    printf("work=%p\n", (void *)&work);
    printf("getpid=%p\n", (void *)&getpid);
    printf("ready\n");
    fflush(stdout);
    while (read(0, &c, 1) > 0) {
    }
    return work(2) == 7 ? 0 : 1;
}
"#;

const O0: &[&str] = &["-O0", "-g", "-fno-omit-frame-pointer"];

/// The frame `work`'s entry must come back as.
fn work_frame(exe: &Path) -> Frame {
    Frame {
        function: Some("work".into()),
        module: exe.display().to_string(),
        offset: symbol_file_offset(exe, "work"),
        file: Some(exe.with_extension("c").display().to_string()),
        line: Some(line_of(PROGRAM, "work-line")),
        kind: FrameKind::User,
        inlined: false,
    }
}

#[test]
fn names_a_function_of_a_live_process_with_its_source_line() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(program.pid()).unwrap();

    let work = program.value("work");
    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[work, work + 1]);

    assert_eq!(frames[0], vec![work_frame(&exe)]);
    // A return address: `work + 1 - 1` is looked up, `work + 1` reported.
    let expected = Frame {
        offset: symbol_file_offset(&exe, "work") + 1,
        ..work_frame(&exe)
    };
    assert_eq!(frames[1], vec![expected]);
    let stats = symbolizer.stats(&spaces);
    assert_eq!(stats.processes_observed, 1);
    assert_eq!(stats.addresses_resolved, 2);
    // The executable, libc and the dynamic loader.
    assert!(stats.files_opened >= 3, "{stats:?}");
}

#[test]
fn names_libc_functions() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());

    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[program.value("getpid")]);

    let frame = &frames[0][0];
    assert!(
        frame.function.as_deref().unwrap_or("").contains("getpid"),
        "{frame:?}"
    );
    assert!(frame.module.contains("libc"), "{frame:?}");
}

#[test]
fn names_a_library_loaded_after_the_process_was_observed() {
    if !support::can_run() {
        return;
    }
    const PLUGIN: &str = r#"int plugin_work(int x) { /* plugin-line */
    return x + 1;
}
"#;
    const LOADER: &str = r#"#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char c;
    printf("ready\n");
    fflush(stdout);
    if (read(0, &c, 1) != 1)
        return 1;
    void *plugin = dlopen(PLUGIN, RTLD_NOW);
    if (!plugin)
        return 2;
    printf("plugin_work=%p\n", dlsym(plugin, "plugin_work"));
    printf("ready\n");
    fflush(stdout);
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let plugin = compile(
        dir.path(),
        "libplugin.so",
        PLUGIN,
        &["-shared", "-fPIC", "-O0", "-g"],
    );
    let define = format!("-DPLUGIN=\"{}\"", plugin.display());
    let exe = compile(dir.path(), "loader", LOADER, &["-O0", "-g", &define]);
    let mut program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(program.pid()).unwrap();
    program.step(); // dlopen

    let frames =
        symbolizer.user_frames(&mut spaces, program.pid(), &[program.value("plugin_work")]);

    let frame = Frame {
        function: Some("plugin_work".into()),
        module: plugin.display().to_string(),
        offset: symbol_file_offset(&plugin, "plugin_work"),
        file: Some(dir.path().join("libplugin.so.c").display().to_string()),
        line: Some(line_of(PLUGIN, "plugin-line")),
        kind: FrameKind::User,
        inlined: false,
    };
    assert_eq!(frames[0], vec![frame]);
    assert_eq!(symbolizer.stats(&spaces).maps_rereads, 1);
}

#[test]
fn copies_of_one_file_are_opened_once_and_keep_their_own_paths() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let copy = dir.path().join("copy");
    std::fs::copy(&exe, &copy).unwrap();
    let (first, second) = (Program::start(&exe), Program::start(&copy));
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(first.pid()).unwrap();
    spaces.observe(second.pid()).unwrap();

    let one = symbolizer.user_frames(&mut spaces, first.pid(), &[first.value("work")]);
    let other = symbolizer.user_frames(&mut spaces, second.pid(), &[second.value("work")]);

    assert_eq!(one[0], vec![work_frame(&exe)]);
    let expected = Frame {
        module: copy.display().to_string(),
        ..work_frame(&exe)
    };
    assert_eq!(other[0], vec![expected]);
    assert_eq!(symbolizer.stats(&spaces).files_shared_by_build_id, 1);
}

#[test]
fn shows_an_inlined_function_as_a_frame_inside_its_caller() {
    if !support::can_run() {
        return;
    }
    const INLINING: &str = r#"#include <stdio.h>
#include <unistd.h>

volatile int sink;

static inline __attribute__((always_inline)) int inner(int x) {
    sink = x * 5; /* inner-body */
    return x * x + sink;
}

__attribute__((noinline)) int outer(int x) {
    int r = inner(x); /* call-site */
    return r + 1;
}

int main(void) {
    char c;
    printf("outer=%p\n", (void *)&outer);
    printf("ready\n");
    fflush(stdout);
    while (read(0, &c, 1) > 0) {
    }
    return outer(3) > 0 ? 0 : 1;
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "inl", INLINING, &["-O2", "-g"]);
    let source = exe.with_extension("c").display().to_string();
    let outer = symbol_file_offset(&exe, "outer");
    // An instruction of `outer` that belongs to the inlined `inner`, found
    // with addr2line: the one setting `sink`.
    let inlined_offset = (outer..outer + 64)
        .find(|&offset| {
            addr2line(&exe, offset).first()
                == Some(&("inner".into(), line_of(INLINING, "inner-body")))
        })
        .unwrap();
    let program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());

    let addr = program.value("outer") + (inlined_offset - outer);
    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[addr]);

    let frame = |function: &str, line, inlined| Frame {
        function: Some(function.into()),
        module: exe.display().to_string(),
        offset: inlined_offset,
        file: Some(source.clone()),
        line: Some(line),
        kind: FrameKind::User,
        inlined,
    };
    assert_eq!(
        frames[0],
        vec![
            frame("outer", line_of(INLINING, "call-site"), false),
            frame("inner", line_of(INLINING, "inner-body"), true),
        ]
    );
}

/// The functions (innermost first) and lines addr2line gives `offset`
/// (a virtual address, equal to the file offset in these executables).
fn addr2line(exe: &Path, offset: u64) -> Vec<(String, u32)> {
    let out = std::process::Command::new("addr2line")
        .args(["-f", "-i", "-e"])
        .arg(exe)
        .arg(format!("{offset:#x}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .filter_map(|pair| {
            let line = pair.get(1)?.rsplit(':').next()?;
            let line = line.split_whitespace().next()?.parse().ok()?;
            Some((pair[0].to_owned(), line))
        })
        .collect()
}

#[test]
fn names_a_process_that_exited_after_it_was_observed() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let mut program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    let pid = program.pid();
    spaces.observe(pid).unwrap();
    program.exit();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());

    let frames = symbolizer.user_frames(&mut spaces, pid, &[program.value("work")]);

    assert_eq!(frames[0], vec![work_frame(&exe)]);
}

#[test]
fn names_an_executable_deleted_before_it_was_observed() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let expected = work_frame(&exe);
    let program = Program::start(&exe);
    std::fs::remove_file(&exe).unwrap();
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(program.pid()).unwrap();

    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[program.value("work")]);

    assert_eq!(frames[0], vec![expected]);
}

#[test]
fn names_an_executable_deleted_after_it_was_observed_then_closes_it() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let expected = work_frame(&exe);
    let mut program = Program::start(&exe);
    let pid = program.pid();
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(pid).unwrap();
    std::fs::remove_file(&exe).unwrap();
    program.exit();

    let frames = symbolizer.user_frames(&mut spaces, pid, &[program.value("work")]);
    assert_eq!(frames[0], vec![expected]);

    // Released, a deleted file is closed at once, by us and (at the next
    // call) by blazesym: no descriptor keeps its disk space.
    assert!(open_descriptors_of(&exe) > 0);
    spaces.release(pid);
    assert!(symbolizer.stats(&spaces).files_evicted >= 1);
    symbolizer.user_frames(&mut spaces, support::unused_pid(), &[1]);
    let _ = symbolizer.kernel_frames(&[0]); // a round trip: the eviction is done
    assert_eq!(open_descriptors_of(&exe), 0);
}

/// How many of this process's file descriptors refer to `path`.
fn open_descriptors_of(path: &Path) -> usize {
    let deleted = format!("{} (deleted)", path.display());
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.as_os_str() == deleted.as_str() || target == path)
        .count()
}

#[test]
fn a_stripped_executable_gives_module_and_offset_only() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let offset = symbol_file_offset(&exe, "work");
    let strip = std::process::Command::new("strip")
        .arg(&exe)
        .status()
        .unwrap();
    assert!(strip.success());
    let program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());

    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[program.value("work")]);

    let frame = Frame {
        function: None,
        module: exe.display().to_string(),
        offset,
        file: None,
        line: None,
        kind: FrameKind::User,
        inlined: false,
    };
    assert_eq!(frames[0], vec![frame.clone()]);
    assert_eq!(frame.name(), format!("[unknown] prog+{offset:#x}"));
    let stats = symbolizer.stats(&spaces);
    assert_eq!((stats.unknown_no_symbol, stats.addresses_resolved), (1, 0));
}

#[test]
fn an_address_outside_every_mapping_is_unknown_after_one_reread() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(program.pid()).unwrap();

    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[program.value("work"), 0x10]);
    let again = symbolizer.user_frames(&mut spaces, program.pid(), &[0x10]);

    let unknown = Frame {
        function: None,
        module: "[unknown]".into(),
        offset: 0x10,
        file: None,
        line: None,
        kind: FrameKind::User,
        inlined: false,
    };
    assert_eq!(frames[0][0].function.as_deref(), Some("work"));
    assert_eq!(frames[1], vec![unknown.clone()]);
    assert_eq!(again[0], vec![unknown]);
    let stats = symbolizer.stats(&spaces);
    assert_eq!(stats.unknown_no_mapping, 2);
    // Re-read once; the second miss, within a second, does not re-read.
    assert_eq!(stats.maps_rereads, 1);
}

#[test]
fn processes_without_an_address_space_are_errors_and_their_addresses_unknown() {
    if !support::can_run() {
        return;
    }
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    let gone = support::unused_pid();

    assert!(matches!(
        spaces.observe(gone),
        Err(SymbolizeError::NoSuchProcess { pid }) if pid == gone
    ));
    // kthreadd: a kernel thread.
    assert!(matches!(
        spaces.observe(2),
        Err(SymbolizeError::NoAddressSpace { pid: 2 })
    ));
    let frames = symbolizer.user_frames(&mut spaces, gone, &[0x1234, 0x5678]);

    assert_eq!(frames.len(), 2);
    assert!(frames
        .iter()
        .all(|f| f.len() == 1 && f[0].function.is_none()));
    assert_eq!(frames[1][0].offset, 0x5678);
    let stats = symbolizer.stats(&spaces);
    assert_eq!((stats.observe_failures, stats.unknown_no_mapping), (3, 2));
    assert!(symbolizer.user_frames(&mut spaces, gone, &[]).is_empty());
}

#[test]
fn names_vdso_functions() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, O0);
    let program = Program::start(&exe);
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    let (name, offset) = own_vdso_function("clock_gettime");
    let vdso = vdso_start(program.pid());

    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[vdso + offset]);

    let frame = &frames[0][0];
    assert!(
        frame
            .function
            .as_deref()
            .unwrap_or("")
            .ends_with("clock_gettime"),
        "{frame:?} ({name})"
    );
    assert_eq!((frame.module.as_str(), frame.offset), ("[vdso]", offset));
}

fn vdso_range(maps: &str) -> (u64, u64) {
    let line = maps.lines().find(|l| l.ends_with("[vdso]")).unwrap();
    let (start, rest) = line.split_once('-').unwrap();
    let end = rest.split_whitespace().next().unwrap();
    (
        u64::from_str_radix(start, 16).unwrap(),
        u64::from_str_radix(end, 16).unwrap(),
    )
}

fn vdso_start(pid: u32) -> u64 {
    vdso_range(&std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap()).0
}

/// A function of our own vDSO whose name ends in `suffix`, and its file
/// offset.
fn own_vdso_function(suffix: &str) -> (String, u64) {
    use object::{Object, ObjectSegment, ObjectSymbol};
    use std::io::{Read, Seek, SeekFrom};
    let (start, end) = vdso_range(&std::fs::read_to_string("/proc/self/maps").unwrap());
    let mut image = vec![0; (end - start) as usize];
    let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
    mem.seek(SeekFrom::Start(start)).unwrap();
    mem.read_exact(&mut image).unwrap();
    let elf = object::File::parse(&*image).unwrap();
    let symbol = elf
        .dynamic_symbols()
        .find(|s| s.name().is_ok_and(|n| n.ends_with(suffix)))
        .unwrap();
    let offset = elf
        .segments()
        .find_map(|seg| {
            let (offset, size) = seg.file_range();
            let rel = symbol.address().checked_sub(seg.address())?;
            (rel < size).then_some(offset + rel)
        })
        .unwrap();
    (symbol.name().unwrap().to_owned(), offset)
}

#[test]
fn symbolizer_and_address_spaces_are_send() {
    fn send<T: Send>() {}
    send::<Symbolizer>();
    send::<AddressSpaces>();
}
