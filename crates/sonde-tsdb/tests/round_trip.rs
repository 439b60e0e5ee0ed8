//! XOR chunks round-trip every timestamp and value bit pattern, and
//! truncated or corrupt chunks decode to an error or a prefix, never a panic.

use sonde_tsdb::{ChunkError, XorAppender, XorChunk, XorIterator};

/// A small deterministic generator (splitmix64), enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Prometheus's staleness marker.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut appender = XorAppender::new();
    for &(t, v) in samples {
        appender.append(t, v).unwrap();
    }
    assert_eq!(usize::from(appender.num_samples()), samples.len());
    appender.into_chunk()
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// Encodes, decodes, compares bit for bit, and checks every truncation.
fn round_trip(samples: &[(i64, f64)]) -> XorChunk {
    let chunk = encode(samples);
    assert_eq!(usize::from(chunk.num_samples()), samples.len());
    let decoded: Vec<(i64, f64)> = chunk.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(bits(&decoded), bits(samples));
    let copy = XorChunk::from_bytes(chunk.as_bytes().to_vec()).unwrap();
    assert_eq!(copy, chunk);
    assert_truncations_are_prefixes(chunk.as_bytes(), samples);
    chunk
}

fn assert_truncations_are_prefixes(bytes: &[u8], samples: &[(i64, f64)]) {
    let want = bits(samples);
    for len in 0..bytes.len() {
        let mut got = Vec::new();
        let mut failed = false;
        for item in XorIterator::new(&bytes[..len]) {
            match item {
                Ok((t, v)) => got.push((t, v.to_bits())),
                Err(_) => failed = true,
            }
        }
        assert!(
            got.len() <= want.len(),
            "truncated to {len}: too many samples"
        );
        assert_eq!(got, want[..got.len()], "truncated to {len}: not a prefix");
        assert!(
            failed || got.len() == want.len(),
            "truncated to {len}: stopped early without an error"
        );
    }
    assert!(XorChunk::from_bytes(bytes[..1.min(bytes.len())].to_vec()).is_err());
}

#[test]
fn sample_counts_0_1_120_1000() {
    let mut rng = Rng(1);
    for n in [0usize, 1, 2, 3, 120, 1000] {
        let samples: Vec<_> = (0..n)
            .map(|i| {
                (
                    1_700_000_000_000 + i as i64 * 15_000,
                    (rng.next() % 100) as f64,
                )
            })
            .collect();
        round_trip(&samples);
    }
}

#[test]
fn empty_chunk_is_just_the_header() {
    let chunk = round_trip(&[]);
    assert_eq!(chunk.as_bytes(), [0, 0]);
    assert_eq!(chunk.iter().count(), 0);
}

#[test]
fn regular_and_irregular_timestamps() {
    let regular: Vec<_> = (0..500).map(|i| (i * 10_000, i as f64)).collect();
    round_trip(&regular);
    let mut rng = Rng(2);
    let mut t = -5_000_000;
    let irregular: Vec<_> = (0..500)
        .map(|_| {
            // Gaps from 1 ms to ~30 min, so every bucket is used.
            t += 1 + (rng.next() % (1 << (rng.next() % 21 + 1))) as i64;
            (t, 1.0)
        })
        .collect();
    round_trip(&irregular);
}

#[test]
fn negative_and_huge_deltas() {
    round_trip(&[
        (0, 1.0),
        (-1, 2.0),
        (i64::MAX, 3.0),
        (i64::MIN, 4.0),
        (0, 5.0),
        (-8_191, 6.0),
        (1, 7.0),
        (8_193, 8.0),
        (i64::MIN, 9.0),
        (i64::MIN, 10.0),
        (i64::MAX, 11.0),
    ]);
    // Delta-of-delta right at and beyond each bucket's edges.
    for edge in [8_192i64, 65_536, 524_288] {
        for dod in [
            edge - 1,
            edge,
            edge + 1,
            -edge + 2,
            -edge + 1,
            -edge,
            -edge - 1,
        ] {
            round_trip(&[(0, 0.0), (100_000_000, 0.0), (200_000_000 + dod, 0.0)]);
        }
    }
}

#[test]
fn bucket_edges_cost_the_expected_bits() {
    // Header, varint(0) + 64 value bits, uvarint(1000) + 1 value bit, then
    // the timestamp bucket and 1 value bit: the bucket width shows in the
    // stream length.
    let len_with_dod = |dod: i64| {
        encode(&[(0, 0.0), (1_000, 0.0), (2_000 + dod, 0.0)])
            .as_bytes()
            .len()
    };
    // 2 + 1 + 8 + 2 bytes, then 1 value bit of sample 1 and the rest.
    let bits_to_bytes = |bits: usize| 13 + (1 + bits).div_ceil(8);
    assert_eq!(len_with_dod(0), bits_to_bytes(1 + 1));
    assert_eq!(len_with_dod(8_192), bits_to_bytes(2 + 14 + 1));
    assert_eq!(len_with_dod(-8_191), bits_to_bytes(2 + 14 + 1));
    assert_eq!(len_with_dod(8_193), bits_to_bytes(3 + 17 + 1));
    assert_eq!(len_with_dod(-8_192), bits_to_bytes(3 + 17 + 1));
    assert_eq!(len_with_dod(524_288), bits_to_bytes(4 + 20 + 1));
    assert_eq!(len_with_dod(524_289), bits_to_bytes(4 + 64 + 1));
}

#[test]
fn constant_values() {
    let samples: Vec<_> = (0..1000).map(|i| (i * 15_000, 42.0)).collect();
    let chunk = round_trip(&samples);
    // One bit of timestamp and one of value per sample after the second.
    assert!(chunk.as_bytes().len() < 2 + 20 + 1000 / 4);
}

#[test]
fn random_bit_patterns_nan_payloads_and_infinities() {
    let mut rng = Rng(3);
    let mut samples: Vec<(i64, f64)> = (0..1000)
        .map(|i| (i * 1_000, f64::from_bits(rng.next())))
        .collect();
    let specials = [
        STALE_NAN,
        0x7ff8_0000_0000_0001, // Go's math.NaN()
        0xfff8_0000_0000_0000,
        0x7ff0_0000_0000_0001, // signalling NaN
        0xffff_ffff_ffff_ffff,
        f64::INFINITY.to_bits(),
        f64::NEG_INFINITY.to_bits(),
        0,
        0x8000_0000_0000_0000, // -0.0
        1,                     // smallest subnormal
        STALE_NAN,
    ];
    for (i, b) in specials.iter().enumerate() {
        samples[i * 7].1 = f64::from_bits(*b);
    }
    round_trip(&samples);
    round_trip(&specials.map(|b| (0, f64::from_bits(b))));
}

#[test]
fn counters_and_window_reuse() {
    let mut rng = Rng(4);
    let mut total = 0.0;
    let samples: Vec<_> = (0..1000)
        .map(|i| {
            total += (rng.next() % 50) as f64;
            (i * 15_000 + (rng.next() % 100) as i64, total)
        })
        .collect();
    round_trip(&samples);
}

#[test]
fn full_chunk_refuses_more() {
    let mut appender = XorAppender::new();
    for i in 0..u16::MAX {
        appender.append(i64::from(i), 1.0).unwrap();
    }
    assert_eq!(appender.append(1 << 20, 1.0), Err(ChunkError::ChunkFull));
    let chunk = appender.into_chunk();
    assert_eq!(chunk.num_samples(), u16::MAX);
    assert_eq!(chunk.iter().filter(Result::is_ok).count(), 65_535);
}

#[test]
fn corrupt_chunks_error_instead_of_panicking() {
    // Window reuse with no window set: header 2, sample 0 (t=0, v=0),
    // sample 1 (delta 0) and value bits '1','0'.
    let mut bytes = vec![0, 2, 0];
    bytes.extend([0; 8]);
    bytes.extend([0, 0b1000_0000]);
    let got: Vec<_> = XorIterator::new(&bytes).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1], Err(ChunkError::NoWindow));

    // A new window of 31 leading zeros and 63 significant bits.
    let mut bytes = vec![0, 2, 0];
    bytes.extend([0; 8]);
    bytes.extend([0, 0b1111_1111, 0b1111_1100, 0, 0, 0, 0, 0, 0, 0, 0]);
    let got: Vec<_> = XorIterator::new(&bytes).collect();
    assert_eq!(
        got[1],
        Err(ChunkError::BadWindow {
            leading: 31,
            significant: 63
        })
    );

    // A varint that never ends.
    let bytes = [
        0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    let got: Vec<_> = XorIterator::new(&bytes).collect();
    assert_eq!(got, [Err(ChunkError::VarintOverflow)]);

    // Random garbage with a large sample count.
    let mut rng = Rng(5);
    for _ in 0..2_000 {
        let len = (rng.next() % 64) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let decoded = XorIterator::new(&garbage).take(70_000).count();
        assert!(decoded <= 65_536);
    }
}

#[test]
fn bytes_per_sample() {
    let mut rng = Rng(6);
    let mut total = 0.0;
    let series: [(&str, Vec<(i64, f64)>); 3] = [
        ("constant", (0..120).map(|i| (i * 15_000, 42.5)).collect()),
        (
            "counter",
            (0..120)
                .map(|i| {
                    total += (rng.next() % 1_000) as f64;
                    (i * 15_000, total)
                })
                .collect(),
        ),
        (
            "random",
            (0..120)
                .map(|i| (i * 15_000, f64::from_bits(rng.next())))
                .collect(),
        ),
    ];
    for (name, samples) in &series {
        let len = round_trip(samples).as_bytes().len();
        eprintln!(
            "{name:<9} 120 samples at 15 s: {len:>4} bytes, {:.2} bytes/sample",
            len as f64 / samples.len() as f64
        );
    }
}
