//! Reading only the fields the metrics need out of an event, without
//! building its JSON: a serde `Serializer` that walks the event as
//! `serde_json` would and keeps the scalars at the wanted paths. Fields off
//! every wanted path are not serialized at all.
//!
//! What it reads is what `/api/v1/events` emits: the same `Serialize`
//! impls, human-readable (addresses and times as text, enums by their
//! serde names).

use std::borrow::Cow;
use std::fmt;

use serde::ser::{self, Impossible, Serialize};

use super::path::FieldPath;

/// One scalar field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
}

impl Scalar {
    /// As label text; numbers as JSON prints them.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::U64(n) => Cow::Owned(n.to_string()),
            Scalar::I64(n) => Cow::Owned(n.to_string()),
            Scalar::F64(f) => Cow::Owned(
                serde_json::Number::from_f64(*f)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
            Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }

    pub fn number(&self) -> Option<f64> {
        match self {
            Scalar::U64(n) => Some(*n as f64),
            Scalar::I64(n) => Some(*n as f64),
            Scalar::F64(f) => Some(*f),
            _ => None,
        }
    }
}

/// The text of an optional field: absent is empty.
pub fn text_of(value: Option<&Scalar>) -> Cow<'_, str> {
    value.map(Scalar::text).unwrap_or(Cow::Borrowed(""))
}

/// The paths wanted from one event type, as a tree; each leaf is a slot.
#[derive(Debug, Default)]
pub struct PathSet {
    root: Node,
    slots: usize,
}

#[derive(Debug, Default)]
struct Node {
    slot: Option<usize>,
    children: Vec<(String, Node)>,
}

impl PathSet {
    /// The slot of `path`, added if new.
    pub fn insert(&mut self, path: &FieldPath) -> usize {
        let mut node = &mut self.root;
        for segment in path.segments() {
            let i = match node.children.iter().position(|(s, _)| s == segment) {
                Some(i) => i,
                None => {
                    node.children.push((segment.clone(), Node::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[i].1;
        }
        *node.slot.get_or_insert_with(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    /// Fills `out` (one entry per slot) from `value`, an event or its
    /// inner struct.
    pub fn extract<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<Option<Scalar>>) {
        out.clear();
        out.resize(self.slots, None);
        let _ = value.serialize(Walker {
            node: &self.root,
            out,
            top: true,
        });
    }
}

/// Serializes into the slots under `node`.
struct Walker<'a> {
    node: &'a Node,
    out: &'a mut Vec<Option<Scalar>>,
    /// At the event itself: its variant tag is looked through.
    top: bool,
}

#[derive(Debug)]
pub struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field extraction stopped")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl Walker<'_> {
    fn put(self, value: Scalar) -> Result<(), Stop> {
        if let Some(slot) = self.node.slot {
            self.out[slot] = Some(value);
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for Walker<'a> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Impossible<(), Stop>;
    type SerializeTuple = Impossible<(), Stop>;
    type SerializeTupleStruct = Impossible<(), Stop>;
    type SerializeTupleVariant = Impossible<(), Stop>;
    type SerializeMap = Impossible<(), Stop>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), Stop>;

    fn serialize_bool(self, v: bool) -> Result<(), Stop> {
        self.put(Scalar::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Stop> {
        self.put(Scalar::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Stop> {
        self.put(Scalar::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Stop> {
        self.put(Scalar::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Stop> {
        self.put(Scalar::I64(v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Stop> {
        self.put(Scalar::U64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Stop> {
        self.put(Scalar::U64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Stop> {
        self.put(Scalar::U64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Stop> {
        self.put(Scalar::U64(v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Stop> {
        self.put(Scalar::F64(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Stop> {
        self.put(Scalar::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<(), Stop> {
        self.put(Scalar::Str(v.into()))
    }
    fn serialize_str(self, v: &str) -> Result<(), Stop> {
        if self.node.slot.is_some() {
            return self.put(Scalar::Str(v.to_owned()));
        }
        Ok(())
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Stop> {
        if self.node.slot.is_some() {
            return self.put(Scalar::Str(value.to_string()));
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Stop> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        if self.top {
            return value.serialize(Walker { top: false, ..self });
        }
        // `{"variant": value}`: a path through the variant's name.
        match self.node.children.iter().find(|(s, _)| s == variant) {
            Some((_, node)) => value.serialize(Walker {
                node,
                out: self.out,
                top: false,
            }),
            None => Ok(()),
        }
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(Stop)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, Stop> {
        Ok(Fields {
            node: self.node,
            out: self.out,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop)
    }
}

/// A struct's fields: only those on a wanted path are serialized.
pub struct Fields<'a> {
    node: &'a Node,
    out: &'a mut Vec<Option<Scalar>>,
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Stop;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        if let Some((_, node)) = self.node.children.iter().find(|(s, _)| s == key) {
            // A list or map on a path is not a scalar: the path was refused
            // at load; nothing to read here.
            let _ = value.serialize(Walker {
                node,
                out: self.out,
                top: false,
            });
        }
        Ok(())
    }

    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonde_event::EventKind;

    /// Every scalar field the schema names reads the same as from the
    /// event's JSON.
    #[test]
    fn reads_what_json_shows() {
        let drop = sonde_event::Event::PacketDrop(sonde_event::PacketDrop {
            time: sonde_event::Timestamp(1_700_000_000_123_456_789),
            reason: "NO_SOCKET".into(),
            reason_code: 2,
            protocol: "tcp".into(),
            source: Some(sonde_event::Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 4000,
            }),
            destination: None,
            interface: Some(sonde_event::Interface {
                index: 3,
                name: None,
            }),
            process: None,
            location: Some("tcp_v4_rcv+0x1".into()),
            length: 60,
            netns: 7,
        });
        let json = serde_json::to_value(&drop).unwrap()["packet_drop"].clone();
        let paths = [
            "time",
            "reason",
            "reason_code",
            "protocol",
            "source.ip",
            "source.port",
            "destination.ip",
            "interface.index",
            "interface.name",
            "process.comm",
            "location",
            "length",
            "netns",
        ];
        let mut set = PathSet::default();
        let parsed: Vec<(FieldPath, usize)> = paths
            .iter()
            .map(|p| {
                let fp = FieldPath::parse(EventKind::PacketDrop, p).unwrap();
                let slot = set.insert(&fp);
                (fp, slot)
            })
            .collect();
        let mut out = Vec::new();
        set.extract(&drop, &mut out);
        for (fp, slot) in parsed {
            let from_json = match fp.resolve_json(&json) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            assert_eq!(text_of(out[slot].as_ref()), from_json, "{}", fp.text);
        }
        assert_eq!(
            out[0],
            Some(Scalar::Str("2023-11-14T22:13:20.123456789Z".into()))
        );
    }
}
