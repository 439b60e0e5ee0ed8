//! A HashMap-backed test event.

use std::borrow::Cow;
use std::collections::HashMap;

use sonde_rules::fields::resolve;
use sonde_rules::{EventFields, FieldId, FieldValue};

#[derive(Debug, Clone)]
enum Val {
    S(String),
    N(i64),
    B(bool),
    L(Vec<String>),
}

/// A test event: fields set by name (`proc.aname[2]` included). Plain fields
/// sit in a vector indexed by `FieldId` (as a real event struct would answer
/// without hashing), indexed ancestor fields in a map.
#[derive(Debug, Clone, Default)]
pub struct Ev {
    plain: Vec<Option<Val>>,
    indexed: HashMap<(FieldId, u32), Val>,
}

impl Ev {
    pub fn new(evt_type: &str) -> Ev {
        Ev::default().s("evt.type", evt_type)
    }

    fn set(mut self, name: &str, v: Val) -> Ev {
        let f = resolve(name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        match f.index {
            None => {
                let i = f.id as usize;
                if self.plain.len() <= i {
                    self.plain.resize(i + 1, None);
                }
                self.plain[i] = Some(v);
            }
            Some(n) => {
                self.indexed.insert((f.id, n), v);
            }
        }
        self
    }

    pub fn s(self, name: &str, v: &str) -> Ev {
        self.set(name, Val::S(v.to_string()))
    }

    pub fn n(self, name: &str, v: i64) -> Ev {
        self.set(name, Val::N(v))
    }

    pub fn b(self, name: &str, v: bool) -> Ev {
        self.set(name, Val::B(v))
    }

    pub fn l(self, name: &str, v: &[&str]) -> Ev {
        self.set(name, Val::L(v.iter().map(|s| s.to_string()).collect()))
    }

    /// Sets proc.aname[1..] (parent first).
    pub fn ancestors(mut self, names: &[&str]) -> Ev {
        for (i, n) in names.iter().enumerate() {
            self = self.s(&format!("proc.aname[{}]", i + 1), n);
        }
        self
    }

    /// A process event with name, exe path and command line.
    pub fn proc(self, name: &str, exepath: &str, args: &str) -> Ev {
        self.s("proc.name", name)
            .s("proc.exepath", exepath)
            .s("proc.args", args)
            .s("proc.cmdline", &format!("{name} {args}"))
    }

    /// A file event: fd.name, fd.directory, fd.filename.
    pub fn file(self, path: &str) -> Ev {
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
        self.s("fd.name", path)
            .s("fd.directory", if dir.is_empty() { "/" } else { dir })
            .s("fd.filename", file)
    }
}

impl EventFields for Ev {
    fn field(&self, id: FieldId, index: Option<u32>) -> Option<FieldValue<'_>> {
        let v = match index {
            None => self.plain.get(id as usize)?.as_ref()?,
            Some(n) => self.indexed.get(&(id, n))?,
        };
        Some(match v {
            Val::S(s) => FieldValue::Str(Cow::Borrowed(s)),
            Val::N(n) => FieldValue::Num(*n),
            Val::B(b) => FieldValue::Bool(*b),
            Val::L(l) => FieldValue::StrList(l.iter().map(|s| Cow::Borrowed(s.as_str())).collect()),
        })
    }
}
