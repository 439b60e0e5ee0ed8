use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn sonde() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
}

pub fn run(args: &[&str]) -> Output {
    sonde().args(args).output().unwrap()
}

/// `sonde args…` as user and group nobody, with no capabilities.
pub fn run_as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .output()
        .unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("SKIP: needs root to load kernel programs");
    false
}

/// Whether `program` is on the PATH; says so when it is not.
pub fn installed(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIP: {program} is not installed (scripts/setup.sh installs it)");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sonde agent` as a child process on its own store and port.
pub struct AgentProcess {
    pub child: Child,
    pub server: String,
}

impl AgentProcess {
    pub fn start(data_dir: &Path) -> AgentProcess {
        Self::start_with(data_dir, &[])
    }

    /// With extra `sonde agent` flags.
    pub fn start_with(data_dir: &Path, flags: &[&str]) -> AgentProcess {
        let server = format!("127.0.0.1:{}", free_port());
        let child = sonde()
            .args([
                "agent",
                "--data-dir",
                data_dir.to_str().unwrap(),
                "--listen",
                &server,
            ])
            .args(flags)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent = AgentProcess { child, server };
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.cli(&["status", "-o", "json"]).status.code() != Some(0) {
            assert!(Instant::now() < deadline, "agent did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    pub fn status(&self) -> serde_json::Value {
        let out = self.cli(&["status", "-o", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        sonde()
            .args(args)
            .args(["--server", &self.server])
            .output()
            .unwrap()
    }

    /// `sonde events … -o json`, parsed.
    pub fn events(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["events", "-o", "json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Polls `sonde events` until `want` events match.
    pub fn wait_events(&self, args: &[&str], want: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.events(args);
            if found.len() >= want {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "wanted {want} events for {args:?}, have {}",
                found.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts `sonde events --follow` and returns its output lines as they come.
    pub fn follow(&self, args: &[&str]) -> (Child, impl Iterator<Item = String>) {
        let mut child = sonde()
            .args(["events", "--follow", "-o", "json", "--server", &self.server])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok);
        (child, lines)
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
