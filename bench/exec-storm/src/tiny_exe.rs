//! The executable the storm spawns. By default a static binary without libc
//! that only calls exit_group(0), so the storm measures exec and sonde, not
//! libc start-up. It lives in a fresh temp dir, so its path is unique to the
//! run and its exec events can be told from every other process's.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

const SOURCE: &str = r#"/* exec-storm's child: exit_group(0), nothing else. */
void _start(void) {
#if defined(__x86_64__)
    __asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
    __asm__ volatile("mov x0, #0\n\tmov x8, #94\n\tsvc #0");
#else
#error "no exit_group syscall for this architecture"
#endif
    for (;;) {}
}
"#;

pub struct TinyExe {
    /// Canonical path: what the kernel reports as the binary.
    pub path: PathBuf,
    /// How it was made, for the output.
    pub kind: String,
    /// Removed on drop.
    temp_dir: Option<PathBuf>,
}

impl Drop for TinyExe {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `given`, or a freshly built `storm-true`, or /bin/true.
pub fn prepare(given: Option<&Path>) -> anyhow::Result<TinyExe> {
    if let Some(path) = given {
        let path = path
            .canonicalize()
            .with_context(|| format!("--exe {}", path.display()))?;
        return Ok(TinyExe {
            path,
            kind: "given by --exe".into(),
            temp_dir: None,
        });
    }
    let dir = std::env::temp_dir().join(format!(
        "exec-storm-{}-{}",
        std::process::id(),
        bench_support::time::now_ns()
    ));
    std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut exe = TinyExe {
        path: PathBuf::new(),
        kind: String::new(),
        temp_dir: Some(dir.clone()),
    };
    let dir = dir.canonicalize()?;
    match build(&dir) {
        Ok(path) => {
            exe.path = path;
            exe.kind = "static, no libc (cc -static -nostdlib)".into();
        }
        Err(why) => {
            exe.path = Path::new("/bin/true")
                .canonicalize()
                .context("no cc and no /bin/true")?;
            exe.kind = format!("/bin/true (dynamic, libc start-up included; shared path: other execs of it count too), because {why:#}");
        }
    }
    Ok(exe)
}

fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let source = dir.join("storm-true.c");
    // Tried out under another name, so that only the storm execs the storm
    // binary's path.
    let trial = dir.join("storm-true-trial");
    let exe = dir.join("storm-true");
    std::fs::write(&source, SOURCE)?;
    let out = Command::new("cc")
        .args([
            "-static",
            "-nostdlib",
            "-O2",
            "-fno-stack-protector",
            "-fno-asynchronous-unwind-tables",
        ])
        .args(["-Wl,--build-id=none", "-s", "-o"])
        .arg(&trial)
        .arg(&source)
        .output()
        .context("cannot run cc")?;
    if !out.status.success() {
        bail!("cc failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let status = Command::new(&trial)
        .status()
        .context("cannot run the built storm-true")?;
    if !status.success() {
        bail!("the built storm-true exits with {status}");
    }
    std::fs::rename(&trial, &exe)?;
    Ok(exe)
}
