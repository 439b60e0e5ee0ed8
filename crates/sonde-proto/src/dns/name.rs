//! Domain names with compression pointers (RFC 1035 §4.1.4), loop-safe.

use super::DnsError;

/// Most pointers followed in one name; a longer chain is treated as a loop.
const MAX_POINTERS: usize = 32;
/// Longest name in wire form (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 255;

/// Read the name at `pos` in `msg`; returns it (dot-terminated, `.` for the root)
/// and the offset just past it in the original (uncompressed) position.
pub fn read_name(msg: &[u8], pos: usize) -> Result<(String, usize), DnsError> {
    let mut name = String::new();
    let mut wire_len = 0usize;
    let mut cursor = pos;
    let mut end = None;
    let mut pointers = 0;
    loop {
        let len = *msg.get(cursor).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                let end = end.unwrap_or(cursor + 1);
                if name.is_empty() {
                    name.push('.');
                }
                return Ok((name, end));
            }
            0x00 => {
                let label = msg
                    .get(cursor + 1..cursor + 1 + usize::from(len))
                    .ok_or(DnsError::Truncated)?;
                wire_len += label.len() + 1;
                if wire_len > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong);
                }
                push_label(&mut name, label);
                cursor += 1 + usize::from(len);
            }
            0xc0 => {
                let low = *msg.get(cursor + 1).ok_or(DnsError::Truncated)?;
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(DnsError::CompressionLoop);
                }
                end.get_or_insert(cursor + 2);
                let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                if target >= cursor {
                    // Pointers must point backwards; forward ones can loop.
                    return Err(DnsError::CompressionLoop);
                }
                cursor = target;
            }
            _ => return Err(DnsError::BadLabel(len)),
        }
    }
}

fn push_label(name: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                name.push('\\');
                name.push(char::from(b));
            }
            0x21..=0x7e => name.push(char::from(b)),
            _ => name.push_str(&format!("\\{b:03}")),
        }
    }
    name.push('.');
}
