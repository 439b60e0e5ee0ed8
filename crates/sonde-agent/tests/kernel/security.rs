//! File and security events (bpf/security.bpf.c) through a full agent: a C
//! helper makes the exact syscalls, the test asserts the exact events.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sonde_event::{Event, FileEvent, FileOperation, SecurityDetail, SecurityEvent, SecurityKind};

use crate::harness::{start_with, TestAgent};

/// One helper, one mode per scenario; prints nothing, exits 0 on success.
const HELPER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4096];
static const char *at(const char *dir, const char *name) {
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

int main(int argc, char **argv) {
    const char *mode = argv[1];
    if (!strcmp(mode, "files")) {
        const char *dir = argv[2], *outside = argv[3], *wdir = argv[4];
        int fd = openat(AT_FDCWD, at(dir, "shadow"), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return 1;
        close(fd);
        if (open(at(dir, "missing"), O_RDONLY) != -1) return 2;
        fd = open(at(dir, "new"), O_WRONLY | O_CREAT | O_TRUNC, 0640);
        if (fd < 0) return 3;
        close(fd);
        if (chmod(at(dir, "new"), 0600)) return 4;
        if (chown(at(dir, "new"), 65534, 65534)) return 5;
        char to[4096];
        snprintf(to, sizeof(to), "%s/renamed", dir);
        if (rename(at(dir, "new"), to)) return 6;
        if (unlink(to)) return 7;
        /* Under a :write prefix: the read is not reported, the create is. */
        fd = open(at(wdir, "lib.so"), O_RDONLY);
        if (fd < 0) return 11;
        close(fd);
        fd = open(at(wdir, "dropped"), O_WRONLY | O_CREAT, 0700);
        if (fd < 0) return 12;
        close(fd);
        fd = open(outside, O_WRONLY | O_CREAT, 0600);
        if (fd < 0) return 8;
        close(fd);
        unlink(outside);
        if (chdir(dir)) return 9;
        fd = open("relative", O_WRONLY | O_CREAT, 0600);
        if (fd < 0) return 10;
        close(fd);
        /* User space resolves relative paths from /proc/PID/cwd: stay a while. */
        usleep(500000);
        return 0;
    }
    if (!strcmp(mode, "setuid")) {
        return setuid(65534) ? 1 : 0;
    }
    if (!strcmp(mode, "ptrace")) {
        pid_t child = fork();
        if (child == 0) {
            pause();
            _exit(0);
        }
        if (ptrace(PTRACE_ATTACH, child, 0, 0)) return 1;
        waitpid(child, NULL, 0);
        ptrace(PTRACE_DETACH, child, 0, 0);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        printf("%d\n", child);
        return 0;
    }
    if (!strcmp(mode, "memfd")) {
        int mfd = memfd_create("sonde-test", 0);
        int src = open("/bin/true", O_RDONLY);
        if (mfd < 0 || src < 0) return 1;
        ssize_t n;
        while ((n = read(src, buf, sizeof(buf))) > 0)
            if (write(mfd, buf, n) != n) return 2;
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
        char *args[] = {"memfd-true", NULL};
        execv(path, args);
        return 3;
    }
    if (!strcmp(mode, "mount")) {
        if (unshare(CLONE_NEWNS)) return 1;
        if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL)) return 2;
        if (mount("none", "/mnt", "tmpfs", MS_NOSUID, NULL)) return 3;
        if (umount2("/mnt", 0)) return 4;
        return 0;
    }
    return 100;
}
"#;

/// Builds the helper with `cc`, or says why the test is skipped.
fn helper(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("helper.c");
    let bin = dir.join("sec-helper");
    std::fs::write(&src, HELPER).unwrap();
    match Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
    {
        Ok(s) if s.success() => Some(bin),
        Ok(s) => panic!("cc failed: {s}"),
        Err(e) => {
            eprintln!("SKIP: no C compiler (cc): {e}");
            None
        }
    }
}

/// Runs the helper; returns its pid and what it printed.
fn run_helper(bin: &Path, args: &[&str]) -> (u32, String) {
    let child = Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "helper {args:?}: {}", out.status);
    (pid, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Operation, path, rename target, result (fds as 0), errno name.
type Summary = (FileOperation, String, Option<String>, i64, Option<String>);

fn files_of(events: &[Arc<Event>], pid: u32) -> Vec<FileEvent> {
    events
        .iter()
        .filter_map(|e| match &**e {
            Event::File(f) if f.process.pid == pid => Some((**f).clone()),
            _ => None,
        })
        .collect()
}

fn security_of(events: &[Arc<Event>], pid: u32, kind: SecurityKind) -> Option<SecurityEvent> {
    events.iter().find_map(|e| match &**e {
        Event::Security(s) if s.process.pid == pid && s.kind == kind => Some((**s).clone()),
        _ => None,
    })
}

fn watching(dir: &Path, write_only: Option<&Path>) -> Option<TestAgent> {
    let mut watched = vec![dir.to_str().unwrap().to_string()];
    if let Some(w) = write_only {
        watched.push(format!("{}:write", w.to_str().unwrap()));
    }
    start_with(|c| {
        c.watch_paths = watched;
        // Events, not alerts, are under test here.
        c.rules.builtin = false;
    })
}

#[test]
fn file_operations_on_watched_paths_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(bin) = helper(tmp.path()) else {
        return;
    };
    let dir = tmp.path().join("watched");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("shadow"), "root:*:1:0:99999:7:::\n").unwrap();
    let wdir = tmp.path().join("bin");
    std::fs::create_dir(&wdir).unwrap();
    std::fs::write(wdir.join("lib.so"), "").unwrap();
    let outside = tempfile::tempdir().unwrap();
    let outside_file = outside.path().join("outside");
    let Some(mut agent) = watching(&dir, Some(&wdir)) else {
        return;
    };
    let d = dir.to_str().unwrap();
    let w = wdir.to_str().unwrap();
    let (pid, _) = run_helper(&bin, &["files", d, outside_file.to_str().unwrap(), w]);
    let relative = format!("{d}/relative");
    let files = agent.wait_for("the relative open", |seen| {
        let f = files_of(seen, pid);
        f.iter().any(|e| e.path == relative).then_some(f)
    });
    let summary: Vec<Summary> = files
        .iter()
        .map(|f| {
            let result = if f.operation == FileOperation::Open && f.result >= 0 {
                0
            } else {
                f.result
            };
            (
                f.operation,
                f.path.clone(),
                f.new_path.clone(),
                result,
                f.error.clone(),
            )
        })
        .collect();
    let p = |name: &str| format!("{d}/{name}");
    assert_eq!(
        summary,
        [
            (FileOperation::Open, p("shadow"), None, 0, None),
            (
                FileOperation::Open,
                p("missing"),
                None,
                -2,
                Some("ENOENT".into())
            ),
            (FileOperation::Open, p("new"), None, 0, None),
            (FileOperation::Chmod, p("new"), None, 0, None),
            (FileOperation::Chown, p("new"), None, 0, None),
            (FileOperation::Rename, p("new"), Some(p("renamed")), 0, None),
            (FileOperation::Unlink, p("renamed"), None, 0, None),
            (FileOperation::Open, format!("{w}/dropped"), None, 0, None),
            (FileOperation::Open, p("relative"), None, 0, None),
        ],
        "every operation on the watched dir, the create (not the read) under the \
         :write prefix, in order, and nothing outside them"
    );
    let shadow = &files[0];
    assert_eq!(shadow.flag_names, ["O_RDONLY", "O_CLOEXEC"]);
    assert!(shadow.result >= 3, "an fd: {}", shadow.result);
    assert_eq!(shadow.mode, None);
    assert_eq!(shadow.process.pid, pid);
    assert!(!shadow.process.exec_id.is_empty());
    assert!(!shadow.ancestors.is_empty(), "ancestry from the table");
    let created = &files[2];
    assert_eq!(created.flag_names, ["O_WRONLY", "O_CREAT", "O_TRUNC"]);
    assert_eq!(created.mode, Some(0o640));
    assert_eq!(files[3].mode, Some(0o600));
    assert_eq!(
        (files[4].owner_uid, files[4].owner_gid),
        (Some(65534), Some(65534))
    );
    assert!(files[8].relative && !files[0].relative);
    agent.assert_no_loss();
}

#[test]
fn setuid_ptrace_memfd_mount_and_unshare_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(bin) = helper(tmp.path()) else {
        return;
    };
    let Some(mut agent) = watching(tmp.path(), None) else {
        return;
    };

    let (pid, _) = run_helper(&bin, &["setuid"]);
    let s = agent.wait_for("setuid", |seen| {
        security_of(seen, pid, SecurityKind::Setuid)
    });
    assert_eq!(
        s.detail,
        SecurityDetail::Ids {
            requested: vec![Some(65534)]
        }
    );
    assert_eq!((s.result, s.error.as_deref()), (0, None));
    assert_eq!(
        (s.credentials_before.uid, s.credentials_before.euid),
        (0, 0)
    );
    assert_eq!(
        (
            s.credentials_after.uid,
            s.credentials_after.euid,
            s.credentials_after.suid
        ),
        (65534, 65534, 65534)
    );

    let (pid, child) = run_helper(&bin, &["ptrace"]);
    let child: u32 = child.parse().unwrap();
    let s = agent.wait_for("ptrace", |seen| {
        security_of(seen, pid, SecurityKind::Ptrace)
    });
    assert_eq!(
        s.detail,
        SecurityDetail::Ptrace {
            request: "PTRACE_ATTACH".into(),
            target_pid: child,
            address: 0
        }
    );
    assert_eq!(s.result, 0);

    let (pid, _) = run_helper(&bin, &["memfd"]);
    let s = agent.wait_for("memfd_create", |seen| {
        security_of(seen, pid, SecurityKind::MemfdCreate)
    });
    assert_eq!(
        s.detail,
        SecurityDetail::Memfd {
            name: "sonde-test".into(),
            flags: 0
        }
    );
    assert!(s.result >= 3, "an fd: {}", s.result);
    let s = agent.wait_for("exec from memfd", |seen| {
        security_of(seen, pid, SecurityKind::ExecMemfd)
    });
    assert_eq!(
        s.detail,
        SecurityDetail::ExecMemfd {
            name: "memfd:sonde-test".into()
        }
    );

    let (pid, _) = run_helper(&bin, &["mount"]);
    let s = agent.wait_for("unshare", |seen| {
        security_of(seen, pid, SecurityKind::Unshare)
    });
    assert_eq!(
        s.detail,
        SecurityDetail::Namespaces {
            flags: 0x0002_0000,
            namespaces: vec!["mnt".into()],
            fd: None
        }
    );
    let mounts: Vec<SecurityEvent> = agent.wait_for("the tmpfs mount", |seen| {
        let m: Vec<SecurityEvent> = seen
            .iter()
            .filter_map(|e| match &**e {
                Event::Security(s) if s.process.pid == pid && s.kind == SecurityKind::Mount => {
                    Some((**s).clone())
                }
                _ => None,
            })
            .collect();
        (m.len() == 2).then_some(m)
    });
    assert_eq!(
        mounts[1].detail,
        SecurityDetail::Mount {
            source: "none".into(),
            target: "/mnt".into(),
            fstype: "tmpfs".into(),
            flags: 2 // MS_NOSUID
        }
    );
    assert_eq!(mounts[1].result, 0);
    let s = agent.wait_for("umount", |seen| {
        security_of(seen, pid, SecurityKind::Umount)
    });
    assert_eq!(
        s.detail,
        SecurityDetail::Umount {
            target: "/mnt".into(),
            flags: 0
        }
    );
    agent.assert_no_loss();
}

#[test]
fn a_watched_prefix_too_long_for_the_kernel_is_refused() {
    if let Err(e) = sonde_bpf::preflight() {
        eprintln!("SKIP: {e}");
        return;
    }
    let long = format!("/{}", "x".repeat(300));
    let err = sonde_bpf::SecurityProgram::load(&sonde_bpf::SecurityOptions {
        ring_bytes: 1 << 16,
        watch_paths: vec!["/etc".into(), long],
    })
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("301 bytes is longer than the kernel's prefix limit of 255 bytes"),
        "{text}"
    );
}

/// A file record sits in another ring than its process's exec record; the
/// reader hands the processor the exec first, so an open made right after
/// an exec carries the new image and its ancestry (regression: it carried
/// the forking shell's image, or none).
#[test]
fn opens_right_after_exec_carry_the_new_image() {
    const RUNS: usize = 200;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("watched");
    std::fs::create_dir(&dir).unwrap();
    let target = dir.join("token");
    std::fs::write(&target, "x").unwrap();
    let Some(mut agent) = watching(&dir, None) else {
        return;
    };
    let script = format!("for i in $(seq {RUNS}); do /bin/cat \"$1\" >/dev/null; done; echo $$");
    let out = Command::new("/bin/sh")
        .args(["-c", &script, "sh"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success());
    let shell: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let path = target.to_str().unwrap().to_string();
    let opens = agent.wait_for("every cat's open", |seen| {
        let opens: Vec<FileEvent> = seen
            .iter()
            .filter_map(|e| match &**e {
                Event::File(f) if f.path == path => Some((**f).clone()),
                _ => None,
            })
            .collect();
        (opens.len() >= RUNS).then_some(opens)
    });
    assert_eq!(opens.len(), RUNS);
    let wrong: Vec<_> = opens
        .iter()
        .filter(|f| {
            f.process.comm != "cat"
                || f.process.binary != "/bin/cat"
                || f.process.argv != ["/bin/cat", path.as_str()]
                || f.process.ppid != shell
                || f.ancestors.first().map(|a| a.pid) != Some(shell)
        })
        .map(|f| {
            (
                f.process.pid,
                &f.process.comm,
                &f.process.binary,
                f.ancestors.len(),
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {RUNS} opens with the wrong image: {wrong:?}",
        wrong.len()
    );
    agent.assert_no_loss();
}
