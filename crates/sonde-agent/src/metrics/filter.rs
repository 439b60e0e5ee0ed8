//! Event filters of derived metrics: field path → condition.

use regex::Regex;
use serde_yaml_ng::Value as Yaml;

use super::fields::{text_of, Scalar};

/// A condition on one field.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The field's text equals this (`None`: the field is absent).
    Equals(Option<String>),
    /// The field's text matches (anchored; absent is the empty text).
    Regex(Regex),
    Not(Box<Condition>),
}

impl Condition {
    /// From the YAML form: a scalar, `{regex: ...}` or `{not: ...}`.
    pub fn parse(yaml: &Yaml) -> Result<Condition, String> {
        match yaml {
            Yaml::Null => Ok(Condition::Equals(None)),
            Yaml::Bool(b) => Ok(Condition::Equals(Some(b.to_string()))),
            Yaml::Number(n) => Ok(Condition::Equals(Some(n.to_string()))),
            Yaml::String(s) => Ok(Condition::Equals(Some(s.clone()))),
            Yaml::Mapping(m) if m.len() == 1 => {
                let (key, value) = m.iter().next().ok_or("empty condition")?;
                match key.as_str() {
                    Some("regex") => {
                        let pattern = value.as_str().ok_or("`regex` takes a string")?;
                        Regex::new(&format!("^(?:{pattern})$"))
                            .map(Condition::Regex)
                            .map_err(|e| format!("bad regex `{pattern}`: {e}"))
                    }
                    Some("not") => Ok(Condition::Not(Box::new(Condition::parse(value)?))),
                    _ => Err(format!(
                        "unknown condition {}; expected a value, {{regex: ...}} or {{not: ...}}",
                        serde_yaml_ng::to_string(key).unwrap_or_default().trim()
                    )),
                }
            }
            _ => Err("a condition is a value, {regex: \"...\"} or {not: <condition>}".to_owned()),
        }
    }

    /// Whether a field's value (`None`: absent) satisfies the condition.
    pub fn matches(&self, value: Option<&Scalar>) -> bool {
        match self {
            Condition::Equals(None) => value.is_none(),
            Condition::Equals(Some(want)) => value.is_some_and(|v| v.text() == want.as_str()),
            Condition::Regex(re) => re.is_match(&text_of(value)),
            Condition::Not(inner) => !inner.matches(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(yaml: &str) -> Result<Condition, String> {
        Condition::parse(&serde_yaml_ng::from_str(yaml).unwrap())
    }

    #[test]
    fn conditions() {
        let (s404, http, dns) = (
            Some(Scalar::U64(404)),
            Some(Scalar::Str("http".into())),
            Some(Scalar::Str("dns".into())),
        );
        let (s404, http, dns) = (s404.as_ref(), http.as_ref(), dns.as_ref());
        assert!(cond("404").unwrap().matches(s404));
        assert!(!cond("200").unwrap().matches(s404));
        assert!(!cond("404").unwrap().matches(None));
        assert!(cond("null").unwrap().matches(None));
        assert!(!cond("null").unwrap().matches(s404));
        assert!(cond("http").unwrap().matches(http));
        assert!(cond("{regex: '4..'}").unwrap().matches(s404));
        assert!(!cond("{regex: '4'}").unwrap().matches(s404), "anchored");
        assert!(
            cond("{regex: ''}").unwrap().matches(None),
            "absent is empty"
        );
        assert!(cond("{not: dns}").unwrap().matches(http));
        assert!(!cond("{not: dns}").unwrap().matches(dns));
        assert!(cond("{not: {regex: 'd.*'}}").unwrap().matches(http));
        assert!(cond("{regex: '('}").unwrap_err().contains("bad regex"));
        assert!(cond("{like: x}").unwrap_err().contains("unknown condition"));
        assert!(cond("[1, 2]").is_err());
    }
}
