use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_agent::{Agent, AgentConfig, AgentHandle};
use sonde_event::{Event, EventFilter, PacketDrop, ProcessExec, ProcessExit, TcpConnection};
use sonde_store::{EventStore, Query, RedbStore};
use tempfile::TempDir;
use tokio::sync::broadcast::{error::TryRecvError, Receiver};

/// A running agent on a throwaway store, with a live subscription opened
/// before anything the test does.
pub struct TestAgent {
    pub agent: Option<Agent>,
    pub handle: AgentHandle,
    live: Receiver<Arc<Event>>,
    seen: Vec<Arc<Event>>,
    _dir: Option<TempDir>,
}

/// Starts an agent on a fresh store, or says why the test is skipped.
pub fn start() -> Option<TestAgent> {
    start_with(|_| {})
}

/// Like [`start`], with `tune` applied to the agent's configuration.
pub fn start_with(tune: impl FnOnce(&mut AgentConfig)) -> Option<TestAgent> {
    if let Err(e) = sonde_bpf::preflight() {
        eprintln!("SKIP: {e}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start_configured(dir.path(), tune);
    agent._dir = Some(dir);
    Some(agent)
}

/// Starts an agent on the store in `dir` (the caller has checked preflight).
pub fn start_on(dir: &Path) -> TestAgent {
    start_configured(dir, |_| {})
}

fn start_configured(dir: &Path, tune: impl FnOnce(&mut AgentConfig)) -> TestAgent {
    let store: Arc<dyn EventStore> = Arc::new(RedbStore::open(dir).unwrap());
    let mut config = AgentConfig {
        // File events opt in (tests/kernel/security.rs): the default set
        // would add this machine's opens to every test's exact counts.
        watch_paths: Vec::new(),
        batch_wait: Duration::from_millis(20),
        ..AgentConfig::default()
    };
    tune(&mut config);
    let agent =
        Agent::start(config, store, Arc::new(sonde_tsdb::Db::in_memory())).expect("agent starts");
    let handle = agent.handle();
    let live = handle.subscribe();
    TestAgent {
        agent: Some(agent),
        handle,
        live,
        seen: Vec::new(),
        _dir: None,
    }
}

impl TestAgent {
    /// Waits until `found` returns Some over the events seen so far.
    pub fn wait_for<T>(&mut self, what: &str, found: impl Fn(&[Arc<Event>]) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            loop {
                match self.live.try_recv() {
                    Ok(event) => self.seen.push(event),
                    Err(TryRecvError::Empty) => break,
                    Err(e) => panic!("live stream: {e}"),
                }
            }
            if let Some(t) = found(&self.seen) {
                return t;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn exec_of(&mut self, pid: u32) -> ProcessExec {
        self.wait_for(&format!("exec of {pid}"), |events| {
            events.iter().find_map(|e| match &**e {
                Event::ProcessExec(x) if x.process.pid == pid => Some(x.clone()),
                _ => None,
            })
        })
    }

    pub fn exit_of(&mut self, pid: u32) -> ProcessExit {
        self.wait_for(&format!("exit of {pid}"), |events| {
            events.iter().find_map(|e| match &**e {
                Event::ProcessExit(x) if x.process.pid == pid => Some(x.clone()),
                _ => None,
            })
        })
    }

    /// Every exec with `marker` as one of its arguments, in order.
    pub fn execs_with(&mut self, marker: &str, count: usize) -> Vec<ProcessExec> {
        let pick = |events: &[Arc<Event>]| -> Vec<ProcessExec> {
            events
                .iter()
                .filter_map(|e| match &**e {
                    Event::ProcessExec(x) if x.process.argv.iter().any(|a| a == marker) => {
                        Some(x.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        self.wait_for(&format!("{count} execs with {marker}"), |events| {
            let found = pick(events);
            (found.len() >= count).then_some(found)
        })
    }

    /// The store holds what the live stream showed.
    pub fn stored(&self, filter: EventFilter) -> Vec<Event> {
        let query = Query {
            filter,
            ..Query::default()
        };
        self.handle.store().query(&query).unwrap().events
    }

    /// Every TCP connection report `pick` accepts, once `done` says enough.
    pub fn tcp_reports(
        &mut self,
        what: &str,
        pick: impl Fn(&TcpConnection) -> bool,
        done: impl Fn(&[TcpConnection]) -> bool,
    ) -> Vec<TcpConnection> {
        self.wait_for(what, |events| {
            let found: Vec<TcpConnection> = events
                .iter()
                .filter_map(|e| match &**e {
                    Event::TcpConnection(c) if pick(c) => Some(c.clone()),
                    _ => None,
                })
                .collect();
            done(&found).then_some(found)
        })
    }

    /// The first drop `pick` accepts.
    pub fn drop_matching(&mut self, what: &str, pick: impl Fn(&PacketDrop) -> bool) -> PacketDrop {
        self.wait_for(what, |events| {
            events.iter().find_map(|e| match &**e {
                Event::PacketDrop(d) if pick(d) => Some(d.clone()),
                _ => None,
            })
        })
    }

    /// Waits until the store holds an event matching `filter`.
    pub fn wait_stored(&self, filter: EventFilter) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.stored(filter.clone()).is_empty() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {filter:?} in the store"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Nothing was lost anywhere in the pipeline.
    pub fn assert_no_loss(&self) {
        let stats = self.handle.stats().snapshot();
        assert_eq!(stats.total_lost(), 0, "losses: {stats:?}");
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.shutdown();
        }
    }
}

/// Runs `program args…` to completion; returns its pid and exit code.
pub fn run(program: &str, args: &[&str]) -> (u32, Option<i32>) {
    let mut child = Command::new(program).args(args).spawn().unwrap();
    let pid = child.id();
    let status = child.wait().unwrap();
    (pid, status.code())
}

pub fn spawn_waiting(script: &str) -> Child {
    Command::new("/bin/sh")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn this_pid() -> u32 {
    std::process::id()
}
