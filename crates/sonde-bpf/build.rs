//! Compiles every `bpf/*.bpf.c` with Debian's clang into a CO-RE object and a
//! libbpf-cargo skeleton (`$OUT_DIR/<name>.skel.rs`).
//!
//! `vmlinux.h` is generated from the build host's BTF with bpftool (or taken
//! from `SONDE_VMLINUX_H`); CO-RE relocations make the objects run on other
//! kernels. `SONDE_CLANG` picks the compiler; otherwise the newest versioned
//! clang on the PATH is used.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use libbpf_cargo::SkeletonBuilder;

const BTF: &str = "/sys/kernel/btf/vmlinux";

fn main() -> Result<()> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let bpf_dir = manifest.join("../../bpf").canonicalize()?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", bpf_dir.display());
    println!("cargo:rerun-if-env-changed=SONDE_CLANG");
    println!("cargo:rerun-if-env-changed=SONDE_VMLINUX_H");

    let include = out.join("include");
    fs::create_dir_all(&include)?;
    vmlinux_header(&include.join("vmlinux.h"))?;
    let clang = find_clang()?;

    for entry in fs::read_dir(&bpf_dir)? {
        let src = entry?.path();
        let Some(name) = src.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".bpf.c") else {
            continue;
        };
        SkeletonBuilder::new()
            .source(&src)
            .clang(&clang)
            .clang_args([
                "-g".as_ref(),
                "-O2".as_ref(),
                "-Wall".as_ref(),
                "-Werror".as_ref(),
                "-I".as_ref(),
                include.as_os_str(),
                "-I".as_ref(),
                bpf_dir.as_os_str(),
            ])
            .build_and_generate(out.join(format!("{stem}.skel.rs")))
            .with_context(|| format!("building {}", src.display()))?;
    }
    Ok(())
}

fn vmlinux_header(dest: &Path) -> Result<()> {
    if let Ok(given) = env::var("SONDE_VMLINUX_H") {
        fs::copy(&given, dest).with_context(|| format!("copying SONDE_VMLINUX_H={given}"))?;
        return Ok(());
    }
    if dest.exists() {
        return Ok(());
    }
    let bpftool = ["bpftool", "/usr/sbin/bpftool", "/sbin/bpftool"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .context(
            "bpftool not found: install it (apt-get install bpftool) or set SONDE_VMLINUX_H",
        )?;
    let dump = Command::new(bpftool)
        .args(["btf", "dump", "file", BTF, "format", "c"])
        .output()
        .context("running bpftool")?;
    if !dump.status.success() {
        bail!(
            "bpftool could not dump {BTF}: {}; build on a kernel with BTF or set SONDE_VMLINUX_H",
            String::from_utf8_lossy(&dump.stderr).trim()
        );
    }
    fs::write(dest, dump.stdout)?;
    Ok(())
}

fn find_clang() -> Result<PathBuf> {
    if let Ok(clang) = env::var("SONDE_CLANG") {
        return Ok(clang.into());
    }
    let candidates = (14..=30)
        .rev()
        .map(|v| format!("clang-{v}"))
        .chain(["clang".to_string()]);
    for candidate in candidates {
        if Command::new(&candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Ok(candidate.into());
        }
    }
    bail!("no clang found: install Debian's clang (apt-get install clang-19) or set SONDE_CLANG")
}
