//! What symbolizing costs, printed: `cargo bench -p sonde-symbolize --bench
//! symbolize_costs` (as root, with gcc).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use sonde_symbolize::{AddressSpaces, Symbolizer};
use support::{compile, Program};

const PROGRAM: &str = r#"#include <stdio.h>
#include <unistd.h>

int main(void) {
    char c;
    printf("getpid=%p\n", (void *)&getpid);
    printf("ready\n");
    fflush(stdout);
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
"#;

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!("{what:<60} {:>10.1?}", start.elapsed());
    value
}

#[inline(never)]
fn a_function_of_this_test() -> u64 {
    a_function_of_this_test as *const () as u64
}

fn main() {
    if !support::can_run() {
        return;
    }
    if !support::can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(dir.path(), "prog", PROGRAM, &["-O0", "-g"]);
    let program = Program::start(&exe);
    let pid = program.pid();
    let own = std::process::id();
    let (mut spaces, mut symbolizer) = (AddressSpaces::new(), Symbolizer::new().unwrap());

    timed("observe a small C program (first)", || spaces.observe(pid)).unwrap();
    timed("observe it again (known)", || spaces.observe(pid)).unwrap();
    timed("observe this test process (its libc is cached)", || {
        spaces.observe(own)
    })
    .unwrap();

    let getpid = [program.value("getpid")];
    let first = timed("libc address, first (parses libc)", || {
        symbolizer.user_frames(&mut spaces, pid, &getpid)
    });
    assert!(first[0][0]
        .function
        .as_deref()
        .unwrap_or("")
        .contains("getpid"));
    timed("libc address, second", || {
        symbolizer.user_frames(&mut spaces, pid, &getpid)
    });

    let rust = [a_function_of_this_test()];
    let first = timed(
        "address in this test binary, first (parses its DWARF)",
        || symbolizer.user_frames(&mut spaces, own, &rust),
    );
    assert!(first[0][0]
        .function
        .as_deref()
        .unwrap_or("")
        .contains("a_function_of_this_test"));
    timed("address in this test binary, second", || {
        symbolizer.user_frames(&mut spaces, own, &rust)
    });

    // Stacks of 8 addresses over libc and the executable, in both processes,
    // all different: blazesym is asked every time.
    let own_libc = libc::getpid as *const () as u64;
    let start = Instant::now();
    for i in 0..1000 {
        let stack: Vec<u64> = (0..8)
            .map(|j| if j % 2 == 0 { rust[0] } else { own_libc } + i * 8 + j)
            .collect();
        let child: Vec<u64> = (0..8).map(|j| getpid[0] + i * 8 + j).collect();
        symbolizer.user_frames(&mut spaces, own, &stack);
        symbolizer.user_frames(&mut spaces, pid, &child);
    }
    eprintln!(
        "{:<60} {:>10.1?}",
        "an 8-address stack, addresses not seen before, each",
        start.elapsed() / 2000
    );
    let start = Instant::now();
    for _ in 0..1000 {
        let stack: Vec<u64> = (0..8)
            .map(|j| if j % 2 == 0 { rust[0] } else { own_libc } + j)
            .collect();
        symbolizer.user_frames(&mut spaces, own, &stack);
    }
    eprintln!(
        "{:<60} {:>10.1?}",
        "an 8-address stack, addresses seen before, each",
        start.elapsed() / 1000
    );

    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let read_zero = kallsyms
        .lines()
        .find(|l| l.ends_with(" read_zero"))
        .and_then(|l| u64::from_str_radix(l.split(' ').next()?, 16).ok())
        .unwrap();
    timed("kernel address, first (loads kallsyms)", || {
        symbolizer.kernel_frames(&[read_zero])
    });
    timed("kernel address, second", || {
        symbolizer.kernel_frames(&[read_zero])
    });
    let start = Instant::now();
    for i in 0..1000 {
        let stack: Vec<u64> = (0..12).map(|j| read_zero + i * 12 + j).collect();
        symbolizer.kernel_frames(&stack);
    }
    eprintln!(
        "{:<60} {:>10.1?}",
        "a 12-address kernel stack, not seen before, each",
        start.elapsed() / 1000
    );
    eprintln!("{:?}", symbolizer.stats(&spaces));
}
