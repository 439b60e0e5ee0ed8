//! How PromQL results look on a terminal: `sonde query -o table` (one row
//! per series, `name{a="b"}` and its value; a range query's series each
//! followed by its time/value rows) and `-o json`.

use std::io::{self, Write};

use serde_json::Value;

/// The `data` of a query answer, as indented JSON.
pub fn json(out: &mut impl Write, data: &Value) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(data).unwrap_or_else(|_| data.to_string())
    )
}

/// The `data` of a query answer as a table.
pub fn table(out: &mut impl Write, data: &Value) -> io::Result<()> {
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar") => writeln!(out, "{}", value(&result[1])),
        Some("string") => writeln!(out, "{}", printable(result[1].as_str().unwrap_or(""))),
        Some("vector") => {
            let rows: Vec<(String, String)> = items(result)
                .map(|item| (series(&item["metric"]), value(&item["value"][1])))
                .collect();
            if rows.is_empty() {
                return writeln!(out, "(no series)");
            }
            let width = rows
                .iter()
                .map(|(s, _)| s.chars().count())
                .max()
                .unwrap_or(0)
                .max(6);
            writeln!(out, "{:width$}  VALUE", "SERIES")?;
            for (s, v) in rows {
                writeln!(out, "{s:width$}  {v}")?;
            }
            Ok(())
        }
        Some("matrix") => {
            let mut any = false;
            for item in items(result) {
                if any {
                    writeln!(out)?;
                }
                any = true;
                writeln!(out, "{}", series(&item["metric"]))?;
                for point in item["values"].as_array().into_iter().flatten() {
                    writeln!(out, "  {:24}  {}", time(&point[0]), value(&point[1]))?;
                }
            }
            if !any {
                writeln!(out, "(no series)")?;
            }
            Ok(())
        }
        _ => json(out, data),
    }
}

fn items(result: &Value) -> impl Iterator<Item = &Value> {
    result.as_array().into_iter().flatten()
}

/// `name{a="b",c="d"}`, `{a="b"}` without a name, `{}` for no labels.
pub fn series(metric: &Value) -> String {
    let Some(labels) = metric.as_object() else {
        return "{}".into();
    };
    let name = labels.get("__name__").and_then(Value::as_str).unwrap_or("");
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{}=\"{}\"", printable(k), escape(v.as_str().unwrap_or(""))))
        .collect();
    if pairs.is_empty() && !name.is_empty() {
        return printable(name);
    }
    format!("{}{{{}}}", printable(name), pairs.join(","))
}

/// A label value as PromQL quotes it, control characters escaped.
fn escape(v: &str) -> String {
    printable(&v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Text from the store, with control characters escaped so that it cannot
/// steer the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn value(v: &Value) -> String {
    printable(v.as_str().unwrap_or("?"))
}

/// Unix seconds as RFC 3339 UTC, to the millisecond.
fn time(t: &Value) -> String {
    let Some(seconds) = t.as_f64() else {
        return "?".into();
    };
    let ms = (seconds * 1000.0).round();
    if !(0.0..=253_402_300_799_000.0).contains(&ms) {
        return format!("{seconds}");
    }
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(data: Value) -> String {
        let mut out = Vec::new();
        table(&mut out, &data).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn vector_rows() {
        let data = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "api", "instance": "a:1"}, "value": [1.5, "1"]},
            {"metric": {"job": "x\"y"}, "value": [1.5, "+Inf"]},
        ]});
        assert_eq!(
            text(data),
            "SERIES                        VALUE\n\
             up{instance=\"a:1\",job=\"api\"}  1\n\
             {job=\"x\\\"y\"}                  +Inf\n"
        );
    }

    #[test]
    fn matrix_rows() {
        let data = json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "up"}, "values": [[1_700_000_000, "1"], [1_700_000_015.5, "0.5"]]},
        ]});
        assert_eq!(
            text(data),
            "up\n  2023-11-14T22:13:20.000Z  1\n  2023-11-14T22:13:35.500Z  0.5\n"
        );
    }

    #[test]
    fn scalars_strings_and_nothing() {
        assert_eq!(
            text(json!({"resultType": "scalar", "result": [1, "0.5"]})),
            "0.5\n"
        );
        assert_eq!(
            text(json!({"resultType": "string", "result": [1, "a\u{1b}"]})),
            "a\\u{1b}\n"
        );
        assert_eq!(
            text(json!({"resultType": "vector", "result": []})),
            "(no series)\n"
        );
    }
}
