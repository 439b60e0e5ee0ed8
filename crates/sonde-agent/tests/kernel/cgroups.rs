use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sonde_event::ContainerRuntime;

use crate::harness::{spawn_waiting, start};

/// A cgroup made for the test in the unified hierarchy, removed on drop.
struct TestCgroup {
    dirs: Vec<PathBuf>,
}

impl TestCgroup {
    /// `relative` below the cgroup2 mount, creating each level.
    fn create(mount: &Path, relative: &str) -> TestCgroup {
        let mut dirs = Vec::new();
        let mut path = mount.to_path_buf();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path.push(part);
            fs::create_dir(&path).unwrap();
            dirs.push(path.clone());
        }
        TestCgroup { dirs }
    }

    fn leaf(&self) -> &PathBuf {
        self.dirs.last().unwrap()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

/// Moves a waiting shell into `relative`, lets it exec, returns the exec.
fn exec_in_cgroup(relative: &str, marker: &str) -> Option<(sonde_event::ProcessExec, u64)> {
    let Some(mount) = cgroup2_mount() else {
        eprintln!("SKIP: no cgroup2 hierarchy is mounted");
        return None;
    };
    let mut agent = start()?;
    let cgroup = TestCgroup::create(&mount, relative);
    let mut shell = spawn_waiting(&format!("read line; /bin/true {marker}"));
    fs::write(cgroup.leaf().join("cgroup.procs"), shell.id().to_string()).unwrap();
    writeln!(shell.stdin.take().unwrap(), "go").unwrap();
    assert_eq!(shell.wait().unwrap().code(), Some(0));
    let exec = agent.execs_with(marker, 1).remove(0);
    agent.assert_no_loss();
    Some((exec, fs::metadata(cgroup.leaf()).unwrap().ino()))
}

#[test]
fn process_moved_into_a_new_cgroup_reports_its_path_and_id() {
    let name = format!("/sonde-test-{}", std::process::id());
    let Some((exec, inode)) = exec_in_cgroup(&name, "moved-cgroup") else {
        return;
    };
    assert_eq!(exec.process.cgroup.path, name);
    assert_eq!(exec.process.cgroup.id, inode);
    assert_eq!(exec.process.container, None);
}

#[test]
fn docker_scope_cgroup_names_the_container() {
    let id = format!("{:064x}", u128::from(std::process::id()) << 64 | 0xfeed);
    let path = format!("/sonde-test-{}.slice/docker-{id}.scope", std::process::id());
    let Some((exec, _)) = exec_in_cgroup(&path, "in-container") else {
        return;
    };
    assert_eq!(exec.process.cgroup.path, path);
    let container = exec
        .process
        .container
        .expect("container parsed from the cgroup path");
    assert_eq!(container.id, id);
    assert_eq!(container.runtime, ContainerRuntime::Docker);
}
