use super::*;
use crate::detect::sample::{ancestor, connect, exec, file, listen, process};
use sonde_event::FileOperation;

fn str_of(v: Option<FieldValue<'_>>) -> Option<String> {
    v.map(|v| v.to_string())
}

#[test]
fn exec_fields_come_from_the_process_and_its_ancestry() {
    let mut lineage = Lineage::new(100);
    let users = Users::from_passwd("root:x:0:0::/root:/bin/bash\nwww:x:33:33::/:/bin/false\n");
    // The parent was seen exec: its comm and command line are known.
    let parent = process(
        700,
        1,
        "httpd",
        "/usr/sbin/httpd",
        &["httpd", "-k", "start"],
    );
    if let Event::ProcessExec(e) = exec(1, parent, vec![ancestor(1, "/sbin/init")]) {
        lineage.on_exec(&e);
    }
    let mut p = process(812, 700, "bash", "/usr/bin/bash", &["bash", "-c", "id"]);
    p.tty = Some("pts/3".into());
    let ev = exec(
        5,
        p,
        vec![ancestor(700, "/usr/sbin/httpd"), ancestor(1, "/sbin/init")],
    );
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id, i| str_of(v.field(id, i));
    assert_eq!(f(FieldId::EvtType, None).as_deref(), Some("execve"));
    assert_eq!(f(FieldId::EvtTime, None).as_deref(), Some("5"));
    assert_eq!(f(FieldId::ProcName, None).as_deref(), Some("bash"));
    assert_eq!(f(FieldId::ProcExe, None).as_deref(), Some("bash"));
    assert_eq!(
        f(FieldId::ProcExepath, None).as_deref(),
        Some("/usr/bin/bash")
    );
    assert_eq!(f(FieldId::ProcArgs, None).as_deref(), Some("-c id"));
    assert_eq!(f(FieldId::ProcCmdline, None).as_deref(), Some("bash -c id"));
    assert_eq!(f(FieldId::ProcPpid, None).as_deref(), Some("700"));
    assert_eq!(f(FieldId::ProcPname, None).as_deref(), Some("httpd"));
    assert_eq!(
        f(FieldId::ProcPcmdline, None).as_deref(),
        Some("httpd -k start")
    );
    assert_eq!(f(FieldId::ProcAname, Some(1)).as_deref(), Some("httpd"));
    // Never seen exec: its file name stands for its comm.
    assert_eq!(f(FieldId::ProcAname, Some(2)).as_deref(), Some("init"));
    assert_eq!(f(FieldId::ProcAname, Some(3)), None);
    assert_eq!(f(FieldId::ProcApid, Some(2)).as_deref(), Some("1"));
    assert_eq!(
        f(FieldId::ProcAexepath, Some(1)).as_deref(),
        Some("/usr/sbin/httpd")
    );
    assert_eq!(
        f(FieldId::ProcTty, None).as_deref(),
        Some(&*((136 << 8) | 3).to_string())
    );
    assert_eq!(f(FieldId::UserName, None).as_deref(), Some("root"));
    assert_eq!(f(FieldId::ContainerId, None).as_deref(), Some("host"));
    assert_eq!(
        f(FieldId::ProcIsExeFromMemfd, None).as_deref(),
        Some("false")
    );
    assert_eq!(f(FieldId::FdName, None), None);
    assert_eq!(f(FieldId::ProcStdinType, None), None);
    // The tree is rooted at the topmost ancestor below init: httpd.
    assert_eq!(
        v.field(FieldId::ProcTreeId, None),
        Some(FieldValue::Num(tree_id("e700", &[])))
    );
}

fn stdio(stdin: u32, stdout: u32, stderr: u32) -> sonde_event::Stdio {
    let f = |mode| sonde_event::StdioFile::new(mode, 2, 0);
    sonde_event::Stdio {
        stdin: f(stdin),
        stdout: f(stdout),
        stderr: f(stderr),
    }
}

#[test]
fn stdio_types_come_from_the_exec_and_follow_the_process() {
    let mut lineage = Lineage::new(100);
    let users = Users::default();
    let mut p = process(812, 700, "sh", "/usr/bin/sh", &["sh", "-i"]);
    p.stdio = Some(stdio(0o140777, 0o140777, 0o010600));
    let ev = exec(5, p.clone(), vec![ancestor(1, "/sbin/init")]);
    if let Event::ProcessExec(e) = &ev {
        lineage.on_exec(e);
    }
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id| str_of(v.field(id, None));
    assert_eq!(f(FieldId::ProcStdinType).as_deref(), Some("socket"));
    assert_eq!(f(FieldId::ProcStdoutType).as_deref(), Some("socket"));
    assert_eq!(f(FieldId::ProcStderrType).as_deref(), Some("pipe"));
    assert_eq!(f(FieldId::ProcStdinFamily).as_deref(), Some("inet"));
    assert_eq!(f(FieldId::ProcStdoutFamily).as_deref(), Some("inet"));
    // A pipe has no family.
    assert_eq!(f(FieldId::ProcStderrFamily), None);
    // The process's connection knows them through the lineage.
    let conn = connect(6, &p, 4444);
    let v = EventView::new(&conn, &lineage, &users).unwrap();
    assert_eq!(
        str_of(v.field(FieldId::ProcStdinType, None)).as_deref(),
        Some("socket")
    );
    // Closed, a terminal and /dev/null.
    let mut q = process(813, 1, "cat", "/usr/bin/cat", &["cat"]);
    q.stdio = Some(sonde_event::Stdio {
        stdin: sonde_event::StdioFile::new(0, 0, 0),
        stdout: sonde_event::StdioFile::new(0o020620, 0, 136),
        stderr: sonde_event::StdioFile::new(0o020666, 0, 1),
    });
    let ev = exec(7, q, vec![]);
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id| str_of(v.field(id, None));
    assert_eq!(f(FieldId::ProcStdinType).as_deref(), Some("none"));
    assert_eq!(f(FieldId::ProcStdoutType).as_deref(), Some("tty"));
    assert_eq!(f(FieldId::ProcStderrType).as_deref(), Some("chr"));
}

#[test]
fn connections_take_process_details_from_the_lineage() {
    let mut lineage = Lineage::new(100);
    let users = Users::default();
    let p = process(900, 1, "curl", "/usr/bin/curl", &["curl", "http://x"]);
    if let Event::ProcessExec(e) = exec(1, p.clone(), vec![ancestor(1, "/sbin/init")]) {
        lineage.on_exec(&e);
    }
    let ev = connect(2, &p, 3333);
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id| str_of(v.field(id, None));
    assert_eq!(f(FieldId::EvtType).as_deref(), Some("connect"));
    assert_eq!(f(FieldId::ProcArgs).as_deref(), Some("http://x"));
    assert_eq!(f(FieldId::ProcPname).as_deref(), Some("init"));
    assert_eq!(f(FieldId::FdSip).as_deref(), Some("10.0.0.2"));
    assert_eq!(f(FieldId::FdDip).as_deref(), Some("192.0.2.10"));
    assert_eq!(f(FieldId::FdDport).as_deref(), Some("3333"));
    assert_eq!(
        f(FieldId::FdName).as_deref(),
        Some("10.0.0.2:40000->192.0.2.10:3333")
    );
    assert_eq!(f(FieldId::FdTypechar).as_deref(), Some("4"));
    assert_eq!(f(FieldId::FdL4proto).as_deref(), Some("tcp"));
    assert_eq!(f(FieldId::EvtRes).as_deref(), Some("0"));
    // Unknown to the lineage: only what the event carries.
    let stranger = process(901, 1, "nc", "/usr/bin/nc", &["nc"]);
    let ev = connect(3, &stranger, 22);
    let empty = Lineage::new(10);
    let v = EventView::new(&ev, &empty, &users).unwrap();
    assert_eq!(
        str_of(v.field(FieldId::ProcName, None)).as_deref(),
        Some("nc")
    );
    assert_eq!(v.field(FieldId::ProcArgs, None), None);
    assert_eq!(v.field(FieldId::ProcPname, None), None);
}

#[test]
fn listeners_map_to_listen_and_close_with_their_local_end() {
    let mut lineage = Lineage::new(100);
    let users = Users::default();
    let p = process(950, 1, "nc", "/usr/bin/nc", &["nc", "-l", "4444"]);
    if let Event::ProcessExec(e) = exec(1, p.clone(), vec![ancestor(1, "/sbin/init")]) {
        lineage.on_exec(&e);
    }
    let ev = listen(2, &p, "0.0.0.0", 4444, false);
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id| str_of(v.field(id, None));
    assert_eq!(f(FieldId::EvtType).as_deref(), Some("listen"));
    assert_eq!(f(FieldId::ProcName).as_deref(), Some("nc"));
    assert_eq!(f(FieldId::ProcArgs).as_deref(), Some("-l 4444"));
    assert_eq!(f(FieldId::ProcPname).as_deref(), Some("init"));
    assert_eq!(f(FieldId::FdSip).as_deref(), Some("0.0.0.0"));
    assert_eq!(f(FieldId::FdSport).as_deref(), Some("4444"));
    assert_eq!(f(FieldId::FdName).as_deref(), Some("0.0.0.0:4444"));
    assert_eq!(f(FieldId::FdTypechar).as_deref(), Some("4"));
    assert_eq!(f(FieldId::FdL4proto).as_deref(), Some("tcp"));
    assert_eq!(f(FieldId::FdDip), None);
    assert_eq!(f(FieldId::FdDport), None);
    assert_eq!(f(FieldId::EvtRes).as_deref(), Some("0"));
    let ev = listen(3, &p, "::1", 8080, true);
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id| str_of(v.field(id, None));
    assert_eq!(f(FieldId::EvtType).as_deref(), Some("close"));
    assert_eq!(f(FieldId::FdName).as_deref(), Some("[::1]:8080"));
    assert_eq!(f(FieldId::FdSip).as_deref(), Some("::1"));
    assert_eq!(f(FieldId::FdTypechar).as_deref(), Some("6"));
}

#[test]
fn file_events_map_to_fd_and_open_fields() {
    let lineage = Lineage::new(10);
    let users = Users::default();
    let p = process(5, 1, "cat", "/usr/bin/cat", &["cat", "/etc/shadow"]);
    let ev = file(
        1,
        &p,
        vec![ancestor(1, "/sbin/init")],
        FileOperation::Open,
        "/etc/shadow",
        0,
    );
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    let f = |id| str_of(v.field(id, None));
    assert_eq!(f(FieldId::EvtType).as_deref(), Some("openat"));
    assert_eq!(f(FieldId::FdName).as_deref(), Some("/etc/shadow"));
    assert_eq!(f(FieldId::FdDirectory).as_deref(), Some("/etc"));
    assert_eq!(f(FieldId::FdFilename).as_deref(), Some("shadow"));
    assert_eq!(f(FieldId::FdTypechar).as_deref(), Some("f"));
    assert_eq!(f(FieldId::EvtIsOpenRead).as_deref(), Some("true"));
    assert_eq!(f(FieldId::EvtIsOpenWrite).as_deref(), Some("false"));
    assert_eq!(f(FieldId::EvtArgFlags).as_deref(), Some("O_RDONLY"));
    assert_eq!(f(FieldId::EvtRes).as_deref(), Some("3"));
    assert_eq!(f(FieldId::EvtArgMode), None);
    let w = file(
        2,
        &p,
        vec![],
        FileOperation::Open,
        "/bin",
        0o1 | 0o100 | 0o1000,
    );
    let v = EventView::new(&w, &lineage, &users).unwrap();
    assert_eq!(
        str_of(v.field(FieldId::EvtIsOpenWrite, None)).as_deref(),
        Some("true")
    );
    assert_eq!(
        str_of(v.field(FieldId::FdDirectory, None)).as_deref(),
        Some("/")
    );
    let u = file(
        3,
        &p,
        vec![],
        FileOperation::Unlink,
        "/root/.bash_history",
        0,
    );
    let v = EventView::new(&u, &lineage, &users).unwrap();
    assert_eq!(
        str_of(v.field(FieldId::EvtType, None)).as_deref(),
        Some("unlinkat")
    );
}

#[test]
fn memfd_and_fd_execs_are_fileless() {
    let lineage = Lineage::new(10);
    let users = Users::default();
    for (binary, fileless) in [
        ("/proc/self/fd/3", true),
        ("/dev/fd/4", true),
        ("/memfd:x (deleted)", true),
        ("/usr/bin/true", false),
    ] {
        let ev = exec(1, process(2, 1, "x", binary, &["x"]), vec![]);
        let v = EventView::new(&ev, &lineage, &users).unwrap();
        assert_eq!(
            v.field(FieldId::ProcIsExeFromMemfd, None),
            Some(FieldValue::Bool(fileless)),
            "{binary}"
        );
    }
}

#[test]
fn tty_numbers_follow_the_kernel_encoding() {
    assert_eq!(tty_number("pts/0"), 136 << 8);
    assert_eq!(tty_number("pts/300"), ((300 & 0xff) | (137 << 8)) as i64);
    assert_eq!(tty_number("tty1"), (4 << 8) | 1);
    assert_eq!(tty_number("console"), 1);
}

#[test]
fn lineage_is_bounded_and_forgets_exited_images() {
    let mut l = Lineage::new(2);
    for pid in 10..14 {
        if let Event::ProcessExec(e) = exec(1, process(pid, 1, "a", "/a", &["a"]), vec![]) {
            l.on_exec(&e);
        }
    }
    assert_eq!(l.len(), 2);
    assert!(l.get("e13").is_some() && l.get("e10").is_none());
    let p = process(13, 1, "a", "/a", &["a"]);
    l.on_exit(&p, 100);
    l.expire(100 + super::super::lineage::EXITED_GRACE_NS - 1);
    assert!(l.get("e13").is_some());
    l.expire(100 + super::super::lineage::EXITED_GRACE_NS);
    assert!(l.get("e13").is_none());
}

#[test]
fn capset_names_the_effective_set_after_the_call() {
    let lineage = Lineage::new(10);
    let users = Users::default();
    let p = process(5, 1, "capsh", "/usr/sbin/capsh", &["capsh"]);
    let after = sonde_event::Credentials {
        cap_effective: (1 << 21) | (1 << 39),
        ..Default::default()
    };
    let ev = Event::Security(Box::new(sonde_event::SecurityEvent {
        time: sonde_event::Timestamp(1),
        process: p,
        ancestors: vec![],
        kind: sonde_event::SecurityKind::Capset,
        detail: SecurityDetail::Capset {
            pid: 0,
            effective: 1 << 21,
            permitted: 1 << 21,
            inheritable: 0,
        },
        result: 0,
        error: None,
        credentials_before: Default::default(),
        credentials_after: after,
        truncated: false,
    }));
    let v = EventView::new(&ev, &lineage, &users).unwrap();
    assert_eq!(
        str_of(v.field(FieldId::EvtArgCaps, None)).as_deref(),
        Some("CAP_SYS_ADMIN,CAP_BPF")
    );
    assert_eq!(
        str_of(v.field(FieldId::EvtType, None)).as_deref(),
        Some("capset")
    );
}
