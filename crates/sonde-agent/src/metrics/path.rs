//! Field paths (`process.binary`, `remote.port`): checked once against the
//! event JSON Schema (`sonde_event::json_schema`, the schema of what
//! `/api/v1/events` emits), then resolved against each event's JSON value.

use std::sync::OnceLock;

use serde_json::Value;
use sonde_event::EventKind;

/// A checked path to a scalar field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    pub text: String,
    segments: Vec<String>,
    /// The field holds a number (integer or float).
    pub numeric: bool,
}

impl FieldPath {
    /// Checks `text` against `kind`'s schema: every segment must name a
    /// field, and the last a scalar (string, number, boolean, enum).
    pub fn parse(kind: EventKind, text: &str) -> Result<FieldPath, String> {
        let schema = event_schema();
        let mut node = kind_root(schema, kind).ok_or("the event schema lacks this event type")?;
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        let mut at = kind.as_str().to_owned();
        for segment in &segments {
            if segment.is_empty() {
                return Err(format!("empty segment in field path `{text}`"));
            }
            let object = deref(schema, node);
            let Some(props) = object.get("properties").and_then(Value::as_object) else {
                return Err(format!("`{at}` has no fields (in `{text}`)"));
            };
            let Some(next) = props.get(segment) else {
                let known: Vec<&str> = props.keys().map(String::as_str).collect();
                return Err(format!(
                    "`{at}` has no field `{segment}` (fields: {})",
                    known.join(", ")
                ));
            };
            at = format!("{at}.{segment}");
            node = next;
        }
        let leaf = deref(schema, node);
        let types = scalar_types(leaf);
        let scalar = ["string", "integer", "number", "boolean"];
        if types.is_empty() || !types.iter().all(|t| scalar.contains(&t.as_str())) {
            return Err(format!(
                "`{text}` is not a scalar field (an object or a list); name one of its fields"
            ));
        }
        Ok(FieldPath {
            text: text.to_owned(),
            segments,
            numeric: types.iter().all(|t| t == "integer" || t == "number"),
        })
    }

    /// The path's segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The field's value in an event's JSON object (without its type tag);
    /// `None` when absent or null. Tests compare [`super::fields`] with it.
    #[cfg(test)]
    pub fn resolve_json<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        let mut v = event;
        for s in &self.segments {
            v = v.get(s)?;
        }
        (!v.is_null()).then_some(v)
    }
}

fn event_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::to_value(sonde_event::json_schema()).unwrap_or(Value::Null))
}

fn kind_root(schema: &Value, kind: EventKind) -> Option<&Value> {
    schema
        .get("oneOf")?
        .as_array()?
        .iter()
        .find_map(|v| v.get("properties")?.get(kind.as_str()))
}

/// Follows `$ref`s and looks through `Option`'s `anyOf [T, null]`.
fn deref<'a>(schema: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            match schema.get("$defs").and_then(|d| d.get(name)) {
                Some(n) => node = n,
                None => return node,
            }
            continue;
        }
        if let Some(alts) = node.get("anyOf").and_then(Value::as_array) {
            let mut non_null = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"));
            if let (Some(only), None) = (non_null.next(), non_null.next()) {
                node = only;
                continue;
            }
        }
        return node;
    }
    node
}

/// The JSON types a leaf can hold, `null` left out; enums are strings.
fn scalar_types(node: &Value) -> Vec<String> {
    if node.get("enum").is_some() || node.get("oneOf").is_some() && node.get("type").is_none() {
        // Unit-variant enums are strings; schemars writes some as oneOf of consts.
        let all_strings = node
            .get("oneOf")
            .and_then(Value::as_array)
            .is_none_or(|alts| {
                alts.iter()
                    .all(|a| a.get("type").and_then(Value::as_str) == Some("string"))
            });
        return if all_strings {
            vec!["string".into()]
        } else {
            Vec::new()
        };
    }
    match node.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_against_the_schema() {
        let p = FieldPath::parse(EventKind::ProcessExec, "process.binary").unwrap();
        assert!(!p.numeric);
        let p = FieldPath::parse(EventKind::TcpConnection, "bytes_sent").unwrap();
        assert!(p.numeric);
        assert!(FieldPath::parse(EventKind::TcpConnection, "end").is_ok());
        assert!(FieldPath::parse(EventKind::TcpConnection, "process.comm").is_ok());
        assert!(
            FieldPath::parse(EventKind::Request, "status")
                .unwrap()
                .numeric
        );
        assert!(FieldPath::parse(EventKind::Request, "http.host").is_ok());
        assert!(FieldPath::parse(EventKind::Request, "protocol").is_ok());
        assert!(FieldPath::parse(EventKind::ProcessExit, "status.signal").is_ok());
        let e = FieldPath::parse(EventKind::ProcessExec, "process.nope").unwrap_err();
        assert!(e.contains("no field `nope`"), "{e}");
        let e = FieldPath::parse(EventKind::ProcessExec, "process").unwrap_err();
        assert!(e.contains("not a scalar"), "{e}");
        let e = FieldPath::parse(EventKind::ProcessExec, "process.argv").unwrap_err();
        assert!(e.contains("not a scalar"), "{e}");
        assert!(FieldPath::parse(EventKind::ProcessExec, "process..pid").is_err());
    }
}
