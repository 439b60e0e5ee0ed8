//! JIT code: anonymous executable memory named from `/tmp/perf-PID.map`.

mod support;

use sonde_event::{Frame, FrameKind};
use sonde_symbolize::{AddressSpaces, Symbolizer};
use support::{compile, Program};

const JIT: &str = r#"#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    char c, path[64];
    void *code = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED)
        return 2;
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    FILE *map = fopen(path, "w");
    if (!map)
        return 3;
    fprintf(map, "%lx 40 jitted_hello\n", (unsigned long)code);
    fclose(map);
    printf("code=%p\n", code);
    printf("ready\n");
    fflush(stdout);
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
"#;

/// Removes the perf map when the test ends, passed or not.
struct PerfMapFile(std::path::PathBuf);

impl Drop for PerfMapFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn jit_frame(function: Option<&str>, addr: u64) -> Frame {
    Frame {
        function: function.map(str::to_owned),
        module: "[jit]".into(),
        offset: addr,
        file: None,
        line: None,
        kind: FrameKind::User,
        inlined: false,
    }
}

#[test]
fn names_jit_code_from_the_perf_map_and_rereads_it_on_a_miss() {
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "jit", JIT, &["-O0", "-g"]);
    let program = Program::start(&exe);
    let perf_map = PerfMapFile(format!("/tmp/perf-{}.map", program.pid()).into());
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());
    spaces.observe(program.pid()).unwrap();
    let code = program.value("code");

    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[code + 0x10]);
    assert_eq!(
        frames[0],
        vec![jit_frame(Some("jitted_hello"), code + 0x10)]
    );

    // The runtime compiles more: the appended line is read on the first miss.
    let line = format!("{:x} 20 jitted_later\n", code + 0x100);
    let mut text = std::fs::read_to_string(&perf_map.0).unwrap();
    text.push_str(&line);
    std::fs::write(&perf_map.0, text).unwrap();
    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[code + 0x104]);
    assert_eq!(
        frames[0],
        vec![jit_frame(Some("jitted_later"), code + 0x104)]
    );

    // JIT code nobody named: unknown, and no re-read within a second.
    let frames = symbolizer.user_frames(&mut spaces, program.pid(), &[code + 0x200]);
    assert_eq!(frames[0], vec![jit_frame(None, code + 0x200)]);

    let stats = symbolizer.stats(&spaces);
    assert_eq!((stats.jit_addresses, stats.unknown_no_symbol), (2, 1));
    assert_eq!(stats.perf_map_reads, 2);
}
