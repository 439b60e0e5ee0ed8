//! Bit-compatibility with real Prometheus: samples go through `promtool tsdb
//! create-blocks-from openmetrics`, and the block's chunk segment file must
//! decode to exactly those samples, and re-encoding each chunk's samples
//! with [`XorAppender`] must give byte-identical chunks.
//!
//! Skips with a printed reason when `promtool` is not installed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sonde_tsdb::{XorAppender, XorChunk, XOR_ENCODING};

/// Start of a 2 h block (a multiple of 7 200 000 ms), so that every sample
/// lands in one block.
const BLOCK_START_MS: i64 = 1_699_999_200_000;
const BLOCK_LEN_MS: i64 = 7_200_000;

/// Chunk segment file magic and the version promtool writes.
const SEGMENT_MAGIC: u32 = 0x85BD_40DD;
const SEGMENT_VERSION: u8 = 1;
const SEGMENT_HEADER_LEN: usize = 8;

struct Series {
    /// Metric family name and its OpenMetrics type.
    family: &'static str,
    kind: &'static str,
    /// The sample name (the TSDB series name): `family` plus any suffix.
    name: String,
    /// `(timestamp ms, value)` as written to the text file.
    samples: Vec<(i64, f64)>,
}

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

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn test_series() -> Vec<Series> {
    let mut rng = Rng(0x5eed);
    let regular = |n: i64, step: i64| (0..n).map(move |i| BLOCK_START_MS + 1_000 + i * step);

    let constant = regular(300, 15_000).map(|t| (t, 42.5)).collect();

    let mut total = 0.0;
    let mut t = BLOCK_START_MS + 7;
    let mut counter = Vec::new();
    for _ in 0..400 {
        // Scrapes 15 s apart with up to ±250 ms of jitter.
        t += 15_000 + rng.below(501) as i64 - 250;
        total += rng.below(1_000) as f64;
        counter.push((t, total));
    }

    let mut t = BLOCK_START_MS + 500;
    let mut random = Vec::new();
    for i in 0..350 {
        t += 1 + rng.below(20_000) as i64;
        let v = match i {
            17 => f64::INFINITY,
            18 => f64::NEG_INFINITY,
            19 => 0.0,
            20 => -0.0,
            21 => f64::MIN_POSITIVE / 4.0, // subnormal
            _ => loop {
                let v = f64::from_bits(rng.next());
                if v.is_finite() {
                    break v;
                }
            },
        };
        random.push((t, v));
    }

    // Irregular gaps that exercise every delta-of-delta bucket, including
    // the bucket edges (±8191/8192, ±65535/65536, ±524287/524288 ms) and
    // one that needs all 64 bits.
    let mut t = BLOCK_START_MS + 123;
    let mut delta = 10_000i64;
    let mut irregular = vec![(t, 1.0)];
    let dods = [
        0, 1, -1, 8_192, -8_191, 8_193, -8_192, 65_536, -65_535, 65_537, -65_536, 524_288,
        -524_287, 524_289, -524_288, 1_800_000, -1_800_000,
    ];
    for (i, dod) in dods.iter().chain([0; 40].iter()).enumerate() {
        delta += dod;
        t += delta;
        irregular.push((t, (i % 3) as f64));
    }
    for _ in 0..200 {
        t += 1 + rng.below(5_000) as i64;
        irregular.push((t, rng.below(4) as f64 * 0.25));
    }

    let mut staleness = regular(100, 30_000).map(|t| (t, 3.0)).collect::<Vec<_>>();
    staleness[50].1 = f64::NAN;

    let series = vec![
        Series {
            family: "c_constant",
            kind: "gauge",
            name: "c_constant".into(),
            samples: constant,
        },
        Series {
            family: "d_requests",
            kind: "counter",
            name: "d_requests_total".into(),
            samples: counter,
        },
        Series {
            family: "e_random",
            kind: "gauge",
            name: "e_random".into(),
            samples: random,
        },
        Series {
            family: "f_irregular",
            kind: "gauge",
            name: "f_irregular".into(),
            samples: irregular,
        },
        Series {
            family: "g_with_nan",
            kind: "gauge",
            name: "g_with_nan".into(),
            samples: staleness,
        },
    ];
    for s in &series {
        let last = s.samples.last().map_or(0, |(t, _)| *t);
        assert!(
            last < BLOCK_START_MS + BLOCK_LEN_MS,
            "{} leaves the block",
            s.name
        );
    }
    series
}

/// Writes the OpenMetrics text, and returns the samples as Prometheus will
/// store them: timestamps parsed as float seconds and multiplied by 1000
/// with Go's truncating conversion; `NaN` becomes Go's `math.NaN()`.
fn write_openmetrics(series: &[Series], path: &Path) -> Vec<Vec<(i64, f64)>> {
    let mut text = String::new();
    let mut stored = Vec::new();
    for s in series {
        writeln!(text, "# TYPE {} {}", s.family, s.kind).unwrap();
        let mut samples = Vec::new();
        for &(t, v) in &s.samples {
            let ts = format!("{}.{:03}", t / 1000, t % 1000);
            let value = if v.is_nan() {
                "NaN".to_string()
            } else if v == f64::INFINITY {
                "+Inf".to_string()
            } else if v == f64::NEG_INFINITY {
                "-Inf".to_string()
            } else {
                format!("{v:?}")
            };
            writeln!(text, "{} {value} {ts}", s.name).unwrap();
            let go_t = (ts.parse::<f64>().unwrap() * 1000.0) as i64;
            let go_v = if v.is_nan() {
                f64::from_bits(0x7ff8_0000_0000_0001)
            } else {
                v
            };
            samples.push((go_t, go_v));
        }
        stored.push(samples);
    }
    text.push_str("# EOF\n");
    std::fs::write(path, text).unwrap();
    stored
}

/// CRC-32C (Castagnoli), bit by bit: small and plenty fast for a test.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
}

fn read_uvarint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*pos];
        *pos += 1;
        x |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return x;
        }
    }
    panic!("uvarint too long at {pos}");
}

/// The chunks of a block's segment file, as `(encoding, data)`, with every
/// CRC checked.
fn parse_segment(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert!(bytes.len() >= SEGMENT_HEADER_LEN);
    assert_eq!(
        u32::from_be_bytes(bytes[..4].try_into().unwrap()),
        SEGMENT_MAGIC
    );
    assert_eq!(bytes[4], SEGMENT_VERSION);
    assert_eq!(bytes[5..8], [0, 0, 0], "padding");
    let mut chunks = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    while pos < bytes.len() {
        let len = read_uvarint(bytes, &mut pos) as usize;
        let encoding = bytes[pos];
        let data = &bytes[pos + 1..pos + 1 + len];
        let crc_at = pos + 1 + len;
        let crc = u32::from_be_bytes(bytes[crc_at..crc_at + 4].try_into().unwrap());
        assert_eq!(crc, crc32c(&bytes[pos..crc_at]), "CRC of chunk at {pos}");
        chunks.push((encoding, data.to_vec()));
        pos = crc_at + 4;
    }
    chunks
}

fn find_promtool() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join("promtool"))
        .find(|p| p.is_file())
}

#[test]
fn chunks_match_promtool_bit_for_bit() {
    let Some(promtool) = find_promtool() else {
        eprintln!("SKIP: promtool not installed (apt-get install prometheus)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("samples.om");
    let out = dir.path().join("blocks");
    let series = test_series();
    let stored = write_openmetrics(&series, &input);

    let status = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let blocks: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("chunks").is_dir())
        .collect();
    assert_eq!(blocks.len(), 1, "expected one block: {blocks:?}");
    let segment = blocks[0].join("chunks").join("000001");
    assert!(!blocks[0].join("chunks").join("000002").exists());
    let chunks = parse_segment(&std::fs::read(&segment).unwrap());

    // Chunks are written series by series, in label order (here: by name,
    // which `test_series` already sorts), each series' chunks in time order.
    let mut series_at = Vec::new(); // Series index of each stored sample.
    let mut expected = Vec::new();
    for (i, samples) in stored.iter().enumerate() {
        series_at.extend(std::iter::repeat_n(i, samples.len()));
        expected.extend(samples.iter().copied());
    }
    let mut bytes_per_series = vec![0usize; series.len()];
    let mut chunks_per_series = vec![0usize; series.len()];
    let mut next = 0;
    for (encoding, data) in &chunks {
        assert_eq!(*encoding, XOR_ENCODING);
        let chunk = XorChunk::from_bytes(data.clone()).unwrap();
        let samples: Vec<(i64, f64)> = chunk.iter().collect::<Result<_, _>>().unwrap();
        assert!(!samples.is_empty());
        let owner = series_at[next];
        assert_eq!(
            series_at[next + samples.len() - 1],
            owner,
            "a chunk spans two series"
        );
        for (k, (t, v)) in samples.iter().enumerate() {
            let (want_t, want_v) = expected[next + k];
            assert_eq!(
                (*t, v.to_bits()),
                (want_t, want_v.to_bits()),
                "sample {} of {}",
                next + k,
                series[owner].name
            );
        }
        next += samples.len();

        let mut appender = XorAppender::new();
        for (t, v) in &samples {
            appender.append(*t, *v).unwrap();
        }
        assert_eq!(
            appender.bytes(),
            &data[..],
            "re-encoded chunk of {} differs",
            series[owner].name
        );
        bytes_per_series[owner] += data.len();
        chunks_per_series[owner] += 1;
    }
    assert_eq!(next, expected.len(), "samples missing from the block");

    for (i, s) in series.iter().enumerate() {
        let n = stored[i].len();
        eprintln!(
            "{:<18} {:>4} samples in {:>2} chunks: {:>6} bytes, {:.2} bytes/sample",
            s.name,
            n,
            chunks_per_series[i],
            bytes_per_series[i],
            bytes_per_series[i] as f64 / n as f64
        );
    }
}
