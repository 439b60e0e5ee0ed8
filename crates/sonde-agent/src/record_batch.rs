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
}
