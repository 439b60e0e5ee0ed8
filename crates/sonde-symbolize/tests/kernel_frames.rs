//! Kernel symbolization: addresses taken from /proc/kallsyms come back named.

mod support;

use sonde_event::{Frame, FrameKind};
use sonde_symbolize::{AddressSpaces, Symbolizer};

/// The address of kernel function `name`, from /proc/kallsyms.
fn kallsyms_address(name: &str) -> u64 {
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    kallsyms
        .lines()
        .find_map(|line| {
            let mut fields = line.split_whitespace();
            let (addr, _kind, symbol) = (fields.next()?, fields.next()?, fields.next()?);
            (symbol == name).then(|| u64::from_str_radix(addr, 16).ok())?
        })
        .unwrap()
}

#[test]
fn names_kernel_functions_from_kallsyms() {
    if !support::can_run() {
        return;
    }
    let mut symbolizer = Symbolizer::new().unwrap();
    let read_zero = kallsyms_address("read_zero");
    assert_ne!(read_zero, 0, "kallsyms hides addresses (kptr_restrict)");

    // Leaf first, then a return address just past the start of read_zero.
    let frames = symbolizer.kernel_frames(&[read_zero, read_zero + 1]);

    let frame = |offset| Frame {
        function: Some("read_zero".into()),
        module: "[kernel]".into(),
        offset,
        file: None,
        line: None,
        kind: FrameKind::Kernel,
        inlined: false,
    };
    // kallsyms has no lines; a vmlinux with DWARF would add them.
    let strip_lines = |f: &[Frame]| -> Vec<Frame> {
        f.iter()
            .filter(|f| !f.inlined)
            .map(|f| Frame {
                file: None,
                line: None,
                ..f.clone()
            })
            .collect()
    };
    assert_eq!(strip_lines(&frames[0]), vec![frame(read_zero)]);
    assert_eq!(strip_lines(&frames[1]), vec![frame(read_zero + 1)]);
    assert_eq!(
        symbolizer.stats(&AddressSpaces::new()).addresses_resolved,
        2
    );
}

#[test]
fn an_address_outside_the_kernel_is_unknown() {
    if !support::can_run() {
        return;
    }
    let mut symbolizer = Symbolizer::new().unwrap();

    let frames = symbolizer.kernel_frames(&[0x10]);

    assert_eq!(frames[0].len(), 1);
    assert_eq!(frames[0][0].function, None);
    assert_eq!(
        (frames[0][0].module.as_str(), frames[0][0].offset),
        ("[kernel]", 0x10)
    );
    assert_eq!(frames[0][0].kind, FrameKind::Kernel);
    assert_eq!(symbolizer.stats(&AddressSpaces::new()).unknown_no_symbol, 1);
    assert!(symbolizer.kernel_frames(&[]).is_empty());
}
