use std::io::Write;

use sonde_event::Origin;

use crate::harness::{spawn_waiting, start, start_on, this_pid};

/// A shell started before the agent, which execs a child after it: the
/// child's parent and ancestry come from the /proc seed.
#[test]
fn process_started_before_the_agent_has_parent_and_ancestry() {
    if let Err(e) = sonde_bpf::preflight() {
        eprintln!("SKIP: {e}");
        return;
    }
    let mut shell = spawn_waiting("read line; /bin/true started-before; exit 4");
    let shell_pid = shell.id();
    let mut agent = start().expect("preflight passed, so the agent starts");

    writeln!(shell.stdin.take().unwrap(), "go").unwrap();
    assert_eq!(shell.wait().unwrap().code(), Some(4));

    let child = agent.execs_with("started-before", 1).remove(0);
    assert_eq!(child.process.ppid, shell_pid);
    let parent = &child.ancestors[0];
    assert_eq!(parent.pid, shell_pid);
    // /proc knows the resolved executable.
    assert_eq!(
        parent.binary,
        std::fs::canonicalize("/bin/sh").unwrap().to_str().unwrap()
    );
    assert_eq!(child.process.parent_exec_id.as_ref(), Some(&parent.exec_id));
    assert_eq!(child.ancestors[1].pid, this_pid());

    let exit = agent.exit_of(shell_pid);
    assert_eq!(exit.status.code, Some(4));
    assert_eq!(exit.process.origin, Origin::Procfs);
    assert_eq!(
        exit.process.exec_id, parent.exec_id,
        "one id for the shell, from seed to exit"
    );
    assert_eq!(
        exit.process.argv,
        [
            "/bin/sh",
            "-c",
            "read line; /bin/true started-before; exit 4"
        ]
    );
    agent.assert_no_loss();
}

/// An exec seen by one agent keeps its exec_id when a later agent, on the
/// same store, meets the process again in /proc.
#[test]
fn exec_id_survives_an_agent_restart() {
    if let Err(e) = sonde_bpf::preflight() {
        eprintln!("SKIP: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = start_on(dir.path());
    let mut shell = spawn_waiting("read line; exit 6");
    let exec = first.exec_of(shell.id());
    first.wait_stored(sonde_event::EventFilter {
        pid: Some(shell.id()),
        ..Default::default()
    });
    drop(first);

    let mut second = start_on(dir.path());
    writeln!(shell.stdin.take().unwrap(), "go").unwrap();
    assert_eq!(shell.wait().unwrap().code(), Some(6));
    let exit = second.exit_of(shell.id());
    assert_eq!(exit.process.exec_id, exec.process.exec_id);
    assert_eq!(exit.process.origin, Origin::Exec);
    assert_eq!(exit.process.argv, exec.process.argv);
    second.assert_no_loss();
}
