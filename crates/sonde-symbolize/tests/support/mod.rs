//! Test programs: tiny C sources compiled with `gcc` into a temporary
//! directory and run as live children that print the addresses the tests
//! symbolize, then wait for their stdin to close.

#![allow(dead_code)] // Each test file uses a different part.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// True if the tests can run; otherwise prints why not.
pub fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: reading /proc/PID/map_files needs root");
        return false;
    }
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("SKIP: gcc is not installed");
        return false;
    }
    true
}

/// Compiles `source` (written as `dir/name.c`) into `dir/name`.
pub fn compile(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&c, source).unwrap();
    let out = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&c)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// The 1-based line of `source` containing `marker`.
pub fn line_of(source: &str, marker: &str) -> u32 {
    let index = source.lines().position(|l| l.contains(marker));
    index.map(|i| i as u32 + 1).unwrap()
}

/// A running test program. It prints `name=%p` lines, then `ready`, then
/// reads its stdin: each byte may start a next step (more values, `ready`),
/// and it exits when stdin closes. Killed on drop.
pub struct Program {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    values: HashMap<String, u64>,
}

impl Program {
    pub fn start(exe: &Path) -> Self {
        let mut child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut program = Self {
            child,
            stdin,
            stdout,
            values: HashMap::new(),
        };
        program.read_values();
        program
    }

    /// Reads `name=%p` lines up to the next `ready`.
    fn read_values(&mut self) {
        loop {
            let mut line = String::new();
            assert_ne!(self.stdout.read_line(&mut line).unwrap(), 0, "exited");
            let line = line.trim_end();
            if line == "ready" {
                return;
            }
            let (name, value) = line.split_once('=').unwrap();
            let value = u64::from_str_radix(value.trim_start_matches("0x"), 16).unwrap();
            self.values.insert(name.to_owned(), value);
        }
    }

    /// Lets it take its next step and reads what it prints.
    pub fn step(&mut self) {
        self.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
        self.read_values();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn value(&self, name: &str) -> u64 {
        self.values[name]
    }

    /// Lets it exit and reaps it: its pid and /proc entry are gone after.
    pub fn exit(&mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The file offset of symbol `name` in the ELF file `exe` (its address,
/// mapped through the program headers).
pub fn symbol_file_offset(exe: &Path, name: &str) -> u64 {
    use object::{Object, ObjectSegment, ObjectSymbol};
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let addr = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| s.address())
        .unwrap();
    file.segments()
        .find_map(|seg| {
            let (offset, size) = seg.file_range();
            let rel = addr.checked_sub(seg.address())?;
            (rel < size).then_some(offset + rel)
        })
        .unwrap()
}

/// A pid no process has.
pub fn unused_pid() -> u32 {
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (2..max)
        .rev()
        .find(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        .unwrap()
}
