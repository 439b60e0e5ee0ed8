//! Output templates: `%field` and `%field[N]` substitutions, as in Falco.
//!
//! A field the event does not carry renders as `<NA>`. A field name is the
//! longest run of `[A-Za-z0-9_.]` after `%` (a trailing `.` is left as text),
//! optionally followed by `[N]`; `%%` is a literal `%`. `%proc.aname` without
//! an index renders the parent (`[1]`).

use std::fmt::Write as _;

use crate::fields::{resolve, EventFields, FieldId, Indexing, ResolveError};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(FieldId, Option<u32>),
}

/// A compiled output template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// A template error: character offset and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Character offset of the `%`.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl Template {
    /// Compiles a template, resolving every field.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '%' {
                lit.push(chars[i]);
                i += 1;
                continue;
            }
            if chars.get(i + 1) == Some(&'%') {
                lit.push('%');
                i += 2;
                continue;
            }
            let start = i;
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '_' | '.'))
            {
                j += 1;
            }
            while j > i + 1 && chars[j - 1] == '.' {
                j -= 1;
            }
            if j == i + 1 {
                lit.push('%');
                i += 1;
                continue;
            }
            let mut name: String = chars[i + 1..j].iter().collect();
            if chars.get(j) == Some(&'[') {
                if let Some(close) = chars[j..].iter().position(|&c| c == ']') {
                    name.extend(&chars[j..=j + close]);
                    j += close + 1;
                }
            }
            let f = resolve(&name).map_err(|e| TemplateError {
                offset: start,
                message: match e {
                    ResolveError::Unknown(n) => format!("unknown field `{n}`"),
                    ResolveError::BadIndex(m) => m,
                },
            })?;
            if !lit.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut lit)));
            }
            let index = match (f.id.def().indexing, f.index) {
                (Indexing::Ancestor, None) => Some(1),
                (_, i) => i,
            };
            pieces.push(Piece::Field(f.id, index));
            i = j;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(Template { pieces })
    }

    /// Renders against an event.
    pub fn render(&self, ev: &dyn EventFields) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(id, idx) => match ev.field(*id, *idx) {
                    Some(v) => {
                        let _ = write!(out, "{v}");
                    }
                    None => out.push_str("<NA>"),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldValue;
    use std::borrow::Cow;

    struct Ev;
    impl EventFields for Ev {
        fn field(&self, id: FieldId, index: Option<u32>) -> Option<FieldValue<'_>> {
            match (id, index) {
                (FieldId::ProcName, None) => Some(FieldValue::Str(Cow::Borrowed("sh"))),
                (FieldId::ProcAname, Some(1)) => Some(FieldValue::Str(Cow::Borrowed("nginx"))),
                (FieldId::ProcPid, None) => Some(FieldValue::Num(7)),
                _ => None,
            }
        }
    }

    #[test]
    fn renders_fields_and_na() {
        let t = Template::parse("shell %proc.name (pid=%proc.pid parent=%proc.aname[1] gp=%proc.aname[2]) by %proc.aname. 100%% %").unwrap();
        assert_eq!(
            t.render(&Ev),
            "shell sh (pid=7 parent=nginx gp=<NA>) by nginx. 100% %"
        );
    }

    #[test]
    fn unknown_fields_fail() {
        let e = Template::parse("x %proc.nme y").unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(Template::parse("%proc.name[1]").is_err());
    }
}
