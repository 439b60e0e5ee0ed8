//! Ring-buffer records copied out in one allocation per drain, so that the
//! reader hands the processor one message per drain, not one per record.

#[derive(Debug, Default)]
pub struct RecordBatch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl RecordBatch {
    pub fn push(&mut self, record: &[u8]) {
        self.bytes.extend_from_slice(record);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, end)| &self.bytes[start..*end])
    }

    /// The records in the order of their header's `ktime_ns` (stable; a
    /// record too short for a header sorts first, as the decoder will
    /// count it anyway).
    pub fn sorted_by_time(self) -> RecordBatch {
        let ktime = |r: &[u8]| {
            r.get(8..16)
                .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        };
        let mut records: Vec<&[u8]> = self.iter().collect();
        if records.windows(2).all(|w| ktime(w[0]) <= ktime(w[1])) {
            return self;
        }
        records.sort_by_key(|r| ktime(r));
        let mut sorted = RecordBatch {
            bytes: Vec::with_capacity(self.bytes.len()),
            ends: Vec::with_capacity(self.ends.len()),
        };
        for r in records {
            sorted.push(r);
        }
        sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_as_pushed() {
        let mut batch = RecordBatch::default();
        assert!(batch.is_empty());
        for record in [&b"abc"[..], b"", b"defg"] {
            batch.push(record);
        }
        assert_eq!(batch.len(), 3);
        assert_eq!(
            batch.iter().collect::<Vec<_>>(),
            [&b"abc"[..], b"", b"defg"]
        );
    }

    fn record(ktime: u64, tag: u8) -> Vec<u8> {
        let mut r = vec![tag; 8];
        r.extend_from_slice(&ktime.to_le_bytes());
        r
    }

    #[test]
    fn records_sort_by_their_header_time_stably() {
        let mut batch = RecordBatch::default();
        for (t, tag) in [(30, 1), (10, 2), (20, 3), (10, 4)] {
            batch.push(&record(t, tag));
        }
        batch.push(b"short");
        let tags: Vec<u8> = batch.sorted_by_time().iter().map(|r| r[0]).collect();
        assert_eq!(tags, [b's', 2, 4, 3, 1]);
    }
}
