//! Whole DNS messages: header, question, answer, authority and additional sections.

use super::name::read_name;
use super::DnsError;
use crate::{DnsQuestion, DnsRecord, Edns};

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message ID.
    pub id: u16,
    /// QR bit: this is a response.
    pub response: bool,
    /// Opcode.
    pub opcode: u8,
    /// AA bit.
    pub authoritative: bool,
    /// TC bit.
    pub truncated: bool,
    /// RD bit.
    pub recursion_desired: bool,
    /// RA bit.
    pub recursion_available: bool,
    /// Low 4 bits of the response code.
    pub rcode_low: u8,
}

/// A parsed DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Header fields.
    pub header: Header,
    /// Question section.
    pub questions: Vec<DnsQuestion>,
    /// Answer section.
    pub answers: Vec<DnsRecord>,
    /// Authority section.
    pub authority: Vec<DnsRecord>,
    /// Additional section, OPT excluded.
    pub additional: Vec<DnsRecord>,
    /// EDNS OPT pseudo-record, if present.
    pub edns: Option<Edns>,
    /// Full response code, EDNS extended bits included.
    pub rcode: u16,
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, DnsError> {
        let v = *self.msg.get(self.pos).ok_or(DnsError::Truncated)?;
        self.pos += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16, DnsError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Result<u32, DnsError> {
        Ok(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }
    fn name(&mut self) -> Result<String, DnsError> {
        let (name, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(name)
    }
    fn bytes(&mut self, n: usize) -> Result<&[u8], DnsError> {
        let b = self
            .msg
            .get(self.pos..self.pos + n)
            .ok_or(DnsError::Truncated)?;
        self.pos += n;
        Ok(b)
    }
}

impl Message {
    /// Parse one DNS message (without the TCP length prefix).
    pub fn parse(data: &[u8]) -> Result<Message, DnsError> {
        let mut r = Reader { msg: data, pos: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        // A question takes at least 5 bytes, a record at least 11: reject counts that
        // cannot fit before allocating for them.
        let min = usize::from(counts[0]) * 5
            + counts[1..]
                .iter()
                .map(|&c| usize::from(c) * 11)
                .sum::<usize>();
        if min > data.len().saturating_sub(12) {
            return Err(DnsError::BadCounts);
        }
        let header = Header {
            id,
            response: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0xf) as u8,
            authoritative: flags & 0x0400 != 0,
            truncated: flags & 0x0200 != 0,
            recursion_desired: flags & 0x0100 != 0,
            recursion_available: flags & 0x0080 != 0,
            rcode_low: (flags & 0xf) as u8,
        };
        let mut questions = Vec::with_capacity(usize::from(counts[0]));
        for _ in 0..counts[0] {
            let name = r.name()?;
            questions.push(DnsQuestion {
                name,
                qtype: r.u16()?,
                qclass: r.u16()?,
            });
        }
        let mut msg = Message {
            header,
            questions,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            edns: None,
            rcode: u16::from(header.rcode_low),
        };
        for (section, &count) in counts[1..].iter().enumerate() {
            for _ in 0..count {
                let name = r.name()?;
                let rtype = r.u16()?;
                let class = r.u16()?;
                let ttl = r.u32()?;
                let rdlen = usize::from(r.u16()?);
                let rdata_pos = r.pos;
                let rdata = r.bytes(rdlen)?;
                if rtype == 41 {
                    msg.rcode |= ((ttl >> 24) as u16) << 4;
                    msg.edns = Some(Edns {
                        udp_payload_size: class,
                        version: (ttl >> 16) as u8,
                        dnssec_ok: ttl & 0x8000 != 0,
                    });
                    continue;
                }
                let data = render_rdata(data, rtype, rdata_pos, rdata)?;
                let record = DnsRecord {
                    name,
                    rtype,
                    class,
                    ttl,
                    data,
                };
                match section {
                    0 => msg.answers.push(record),
                    1 => msg.authority.push(record),
                    _ => msg.additional.push(record),
                }
            }
        }
        if r.pos != data.len() {
            return Err(DnsError::TrailingBytes);
        }
        Ok(msg)
    }
}

/// Readable record data: addresses, names, MX, TXT; hex for the rest.
fn render_rdata(msg: &[u8], rtype: u16, pos: usize, rdata: &[u8]) -> Result<String, DnsError> {
    Ok(match (rtype, rdata.len()) {
        (1, 4) => std::net::Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).to_string(),
        (28, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(rdata);
            std::net::Ipv6Addr::from(a).to_string()
        }
        (2 | 5 | 12 | 39, _) => read_name(msg, pos)?.0,
        (15, 3..) => {
            let pref = u16::from_be_bytes([rdata[0], rdata[1]]);
            format!("{pref} {}", read_name(msg, pos + 2)?.0)
        }
        (16, _) => render_txt(rdata),
        _ => rdata.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

fn render_txt(mut rdata: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Some((&len, rest)) = rdata.split_first() {
        let n = usize::from(len).min(rest.len());
        let (s, next) = rest.split_at(n);
        let mut q = String::from("\"");
        for &b in s {
            match b {
                b'"' | b'\\' => {
                    q.push('\\');
                    q.push(char::from(b));
                }
                0x20..=0x7e => q.push(char::from(b)),
                _ => q.push_str(&format!("\\{b:03}")),
            }
        }
        q.push('"');
        parts.push(q);
        rdata = next;
    }
    parts.join(" ")
}
