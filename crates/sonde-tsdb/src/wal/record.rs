//! WAL record types, as Prometheus's `tsdb/record`: a record is one type
//! byte then its body.
//!
//! - [`RecordType::Series`] (1): `count`, then per series its reference
//!   and labels (`n`, then `name`, `value` strings). It is written the
//!   first time a series is seen, before any sample of it.
//! - [`RecordType::Samples`] (2): `count`, the first sample's timestamp as
//!   a base (8 bytes LE), then per sample the series reference (uvarint),
//!   the timestamp's delta from the base (zig-zag varint) and the value's
//!   64 bits (8 bytes LE, so NaN payloads such as the staleness marker
//!   survive bit for bit).
//!
//! Counts, lengths and references are unsigned varints; strings are
//! length-prefixed UTF-8.

use crate::index::SeriesRef;
use crate::labels::Labels;
use crate::wal::encoding::{put_labels, put_uvarint, put_varint, DecodeError, Decoder};

/// The first byte of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// New series: reference and labels.
    Series = 1,
    /// Samples by series reference.
    Samples = 2,
}

/// A sample as the WAL holds it: by series reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    /// The series.
    pub series_ref: SeriesRef,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series.
    Series(Vec<(SeriesRef, Labels)>),
    /// Samples.
    Samples(Vec<RefSample>),
}

/// Encodes a series record onto `buf`.
pub fn encode_series<'a>(
    buf: &mut Vec<u8>,
    series: impl ExactSizeIterator<Item = (SeriesRef, &'a Labels)>,
) {
    buf.push(RecordType::Series as u8);
    put_uvarint(buf, series.len() as u64);
    for (series_ref, labels) in series {
        put_uvarint(buf, u64::from(series_ref));
        put_labels(buf, labels);
    }
}

/// Encodes a samples record onto `buf`.
pub fn encode_samples(buf: &mut Vec<u8>, samples: &[RefSample]) {
    buf.push(RecordType::Samples as u8);
    put_uvarint(buf, samples.len() as u64);
    let base = samples.first().map_or(0, |s| s.t);
    buf.extend_from_slice(&base.to_le_bytes());
    for s in samples {
        put_uvarint(buf, u64::from(s.series_ref));
        put_varint(buf, s.t.wrapping_sub(base));
        buf.extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
}

/// Decodes one record.
pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    let mut dec = Decoder::new(bytes);
    let record = match dec.u8()? {
        t if t == RecordType::Series as u8 => {
            // Every series takes at least 2 bytes.
            let count = dec.len("series count", bytes.len() / 2)?;
            let mut series = Vec::with_capacity(count);
            for _ in 0..count {
                let series_ref = decode_ref(&mut dec)?;
                let labels = dec.labels(bytes.len() / 2)?;
                series.push((series_ref, labels));
            }
            Record::Series(series)
        }
        t if t == RecordType::Samples as u8 => {
            // Every sample takes at least 10 bytes.
            let count = dec.len("sample count", bytes.len() / 10)?;
            let base = dec.u64_le()? as i64;
            let mut samples = Vec::with_capacity(count);
            for _ in 0..count {
                let series_ref = decode_ref(&mut dec)?;
                let t = base.wrapping_add(dec.varint()?);
                let v = f64::from_bits(dec.u64_le()?);
                samples.push(RefSample { series_ref, t, v });
            }
            Record::Samples(samples)
        }
        _ => {
            return Err(DecodeError::Invalid {
                what: "record type",
                at: 0,
            })
        }
    };
    if !dec.is_empty() {
        return Err(DecodeError::Invalid {
            what: "trailing bytes after record",
            at: dec.position(),
        });
    }
    Ok(record)
}

fn decode_ref(dec: &mut Decoder<'_>) -> Result<SeriesRef, DecodeError> {
    let at = dec.position();
    SeriesRef::try_from(dec.uvarint()?).map_err(|_| DecodeError::Invalid {
        what: "series reference",
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let a = Labels::new([("__name__", "up"), ("job", "x")]).unwrap();
        let mut buf = Vec::new();
        encode_series(&mut buf, [(7, &a)].into_iter());
        assert_eq!(decode(&buf).unwrap(), Record::Series(vec![(7, a)]));
        let samples = vec![
            RefSample {
                series_ref: 7,
                t: 1000,
                v: 1.5,
            },
            RefSample {
                series_ref: 9,
                t: 900,
                v: f64::from_bits(0x7ff0_0000_0000_0002),
            },
        ];
        buf.clear();
        encode_samples(&mut buf, &samples);
        let Record::Samples(back) = decode(&buf).unwrap() else {
            panic!()
        };
        assert_eq!(back[0], samples[0]);
        assert_eq!(back[1].v.to_bits(), 0x7ff0_0000_0000_0002);
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err());
        }
    }
}
