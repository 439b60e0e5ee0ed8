//! Runs the fuzz target bodies over deterministic pseudo-random and mutated inputs
//! on stable Rust: no panic, bounded time and memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sonde_proto::fuzzing;

/// Counts live heap bytes so the test can assert a peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Tiny xorshift64*; no rand dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&[u8]] = &[
    b"GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x07example\x03com\x00\x00\x01\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00",
    b"\x12\x34\x81\x83\x00\x01\x00\x01\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x02\xc0\x0c",
    b"\x16\x03\x01\x00\x05hello",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let pos = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if pos < v.len() => v[pos] = rng.next() as u8,
            1 => v.insert(pos, rng.next() as u8),
            2 if pos < v.len() => {
                v.remove(pos);
            }
            3 => {
                let other = SEEDS[rng.below(SEEDS.len())];
                v.splice(pos..pos, other.iter().copied());
            }
            _ => v.insert(pos, [b'\r', b'\n', b' ', b':', b'0', 0xc0][rng.below(6)]),
        }
    }
    v.truncate(4096);
    v
}

/// A fuzz target body.
type Target = fn(&[u8]);

#[test]
fn fuzz_targets_survive_200k_inputs() {
    let start = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let targets: [(&str, Target); 3] = [
        ("http1_conversation", fuzzing::http1_conversation),
        ("dns_message", fuzzing::dns_message),
        ("conversation_any", fuzzing::conversation_any),
    ];
    let per_target = 70_000;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut bytes = 0usize;
    for (name, target) in targets {
        let t0 = Instant::now();
        for i in 0..per_target {
            let input = if i % 3 == 0 {
                let len = rng.below(256);
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                let seed = SEEDS[rng.below(SEEDS.len())];
                let mut v = mutate(&mut rng, seed);
                v.insert(0, rng.next() as u8);
                v
            };
            bytes += input.len();
            target(&input);
        }
        println!("{name}: {per_target} inputs in {:?}", t0.elapsed());
    }
    let peak = PEAK.load(Ordering::Relaxed) - base;
    println!(
        "fuzz smoke: {} inputs, {bytes} bytes, {:?}, peak heap {peak} bytes",
        per_target * 3,
        start.elapsed()
    );
    // Inputs are at most ~4 KiB and every buffer is bounded by the config: a few MiB at most.
    assert!(peak < 4 << 20, "peak heap {peak} bytes");
}
