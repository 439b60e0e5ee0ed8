//! Compiled predicates and their evaluation against an [`EventFields`].
//!
//! A condition compiles (in `compile.rs`) to a [`Pred`] tree whose leaves hold a
//! resolved [`FieldId`] and a typed [`Check`]; evaluation short-circuits `and`/`or`
//! and never looks a name up. A leaf whose field the event does not carry is false
//! (also for `!=`), as in Falco; `not` of it is true.
//!
//! [`required_types`] computes which `evt.type`s a predicate can match, for the
//! rule index that lets an event run only the rules that can match it.

use std::collections::BTreeSet;

use crate::condition::CmpOp;
use crate::fields::{EventFields, FieldId, FieldValue, MAX_ANCESTORS};
use crate::matchers::{icontains, path_match, Glob};

/// How a leaf reads its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The field itself.
    Plain,
    /// The N-th ancestor's (1 = parent).
    Ancestor(u32),
    /// Any ancestor's: true if the check holds for one of them.
    AnyAncestor,
}

/// A typed check on one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The field is present.
    Exists,
    /// `=` on a string.
    StrEq(Box<str>),
    /// `!=` on a string.
    StrNe(Box<str>),
    /// `contains`.
    Contains(Box<str>),
    /// `icontains` (needle lowercased).
    IContains(Box<str>),
    /// `startswith`.
    StartsWith(Box<str>),
    /// `endswith`.
    EndsWith(Box<str>),
    /// `glob`.
    Glob(Glob),
    /// `in` on a string (sorted, deduplicated).
    StrIn(Vec<Box<str>>),
    /// `pmatch`.
    Pmatch(Vec<Box<str>>),
    /// `= != < <= > >=` on a number.
    Num(CmpOp, i64),
    /// `in` on a number (sorted).
    NumIn(Vec<i64>),
    /// `=` (true) or `!=` (false) against a bool.
    Bool(bool, bool),
    /// `contains` on a string list: one element equals.
    ListContains(Box<str>),
    /// `intersects` on a string list (sorted).
    ListIntersects(Vec<Box<str>>),
    /// `in` on a string list: every element is in the set (sorted).
    ListIn(Vec<Box<str>>),
}

/// One leaf: field, access and check.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// The field.
    pub field: FieldId,
    /// How it is read.
    pub access: Access,
    /// What is checked.
    pub check: Check,
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// All hold (empty: true).
    And(Vec<Pred>),
    /// One holds (empty: false).
    Or(Vec<Pred>),
    /// Negation.
    Not(Box<Pred>),
    /// A leaf.
    Test(Test),
}

fn sorted_contains(set: &[Box<str>], s: &str) -> bool {
    set.binary_search_by(|x| (**x).cmp(s)).is_ok()
}

impl Check {
    fn holds(&self, v: &FieldValue<'_>) -> bool {
        match (self, v) {
            (Check::Exists, _) => true,
            (Check::StrEq(e), FieldValue::Str(s)) => **e == **s,
            (Check::StrNe(e), FieldValue::Str(s)) => **e != **s,
            (Check::Contains(e), FieldValue::Str(s)) => s.contains(&**e),
            (Check::IContains(e), FieldValue::Str(s)) => icontains(s, e),
            (Check::StartsWith(e), FieldValue::Str(s)) => s.starts_with(&**e),
            (Check::EndsWith(e), FieldValue::Str(s)) => s.ends_with(&**e),
            (Check::Glob(g), FieldValue::Str(s)) => g.matches(s),
            (Check::StrIn(set), FieldValue::Str(s)) => sorted_contains(set, s),
            (Check::Pmatch(p), FieldValue::Str(s)) => path_match(p, s),
            (Check::Num(op, n), FieldValue::Num(v)) => match op {
                CmpOp::Eq => v == n,
                CmpOp::Ne => v != n,
                CmpOp::Lt => v < n,
                CmpOp::Le => v <= n,
                CmpOp::Gt => v > n,
                CmpOp::Ge => v >= n,
                _ => false,
            },
            (Check::NumIn(set), FieldValue::Num(v)) => set.binary_search(v).is_ok(),
            (Check::Bool(want, eq), FieldValue::Bool(b)) => (b == want) == *eq,
            (Check::ListContains(e), FieldValue::StrList(l)) => l.iter().any(|x| **x == **e),
            (Check::ListIntersects(set), FieldValue::StrList(l)) => {
                l.iter().any(|x| sorted_contains(set, x))
            }
            (Check::ListIn(set), FieldValue::StrList(l)) => {
                l.iter().all(|x| sorted_contains(set, x))
            }
            _ => false,
        }
    }
}

impl Test {
    fn eval(&self, ev: &dyn EventFields) -> bool {
        match self.access {
            Access::Plain => ev
                .field(self.field, None)
                .is_some_and(|v| self.check.holds(&v)),
            Access::Ancestor(n) => ev
                .field(self.field, Some(n))
                .is_some_and(|v| self.check.holds(&v)),
            Access::AnyAncestor => (1..=MAX_ANCESTORS)
                .map_while(|i| ev.field(self.field, Some(i)))
                .any(|v| self.check.holds(&v)),
        }
    }
}

impl Pred {
    /// Evaluates against an event, short-circuiting.
    pub fn eval(&self, ev: &dyn EventFields) -> bool {
        match self {
            Pred::And(items) => items.iter().all(|p| p.eval(ev)),
            Pred::Or(items) => items.iter().any(|p| p.eval(ev)),
            Pred::Not(p) => !p.eval(ev),
            Pred::Test(t) => t.eval(ev),
        }
    }

    /// Nesting depth (for the compile-time bound).
    pub fn depth(&self) -> usize {
        match self {
            Pred::And(items) | Pred::Or(items) => {
                1 + items.iter().map(Pred::depth).max().unwrap_or(0)
            }
            Pred::Not(p) => 1 + p.depth(),
            Pred::Test(_) => 1,
        }
    }
}

/// The `evt.type`s an event must have for `p` to possibly hold; `None` when any
/// type may match. Conservative: `not` and checks other than `=`/`in` on
/// `evt.type` say `None`.
pub fn required_types(p: &Pred) -> Option<BTreeSet<String>> {
    match p {
        Pred::Test(Test {
            field: FieldId::EvtType,
            access: Access::Plain,
            check,
        }) => match check {
            Check::StrEq(s) => Some(BTreeSet::from([s.to_string()])),
            Check::StrIn(set) => Some(set.iter().map(|s| s.to_string()).collect()),
            _ => None,
        },
        Pred::Test(_) | Pred::Not(_) => None,
        Pred::And(items) => {
            let mut acc: Option<BTreeSet<String>> = None;
            for s in items.iter().filter_map(required_types) {
                acc = Some(match acc {
                    None => s,
                    Some(a) => a.intersection(&s).cloned().collect(),
                });
            }
            acc
        }
        Pred::Or(items) => {
            let mut acc = BTreeSet::new();
            for i in items {
                acc.extend(required_types(i)?);
            }
            Some(acc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    struct Ev;
    impl EventFields for Ev {
        fn field(&self, id: FieldId, index: Option<u32>) -> Option<FieldValue<'_>> {
            match (id, index) {
                (FieldId::ProcName, None) => Some(FieldValue::Str(Cow::Borrowed("bash"))),
                (FieldId::ProcPid, None) => Some(FieldValue::Num(42)),
                (FieldId::ProcAname, Some(1)) => Some(FieldValue::Str(Cow::Borrowed("nginx"))),
                (FieldId::ProcAname, Some(2)) => Some(FieldValue::Str(Cow::Borrowed("systemd"))),
                _ => None,
            }
        }
    }

    fn t(field: FieldId, access: Access, check: Check) -> Pred {
        Pred::Test(Test {
            field,
            access,
            check,
        })
    }

    #[test]
    fn leaves_and_missing_fields() {
        assert!(t(
            FieldId::ProcName,
            Access::Plain,
            Check::StrEq("bash".into())
        )
        .eval(&Ev));
        assert!(!t(FieldId::FdName, Access::Plain, Check::StrNe("x".into())).eval(&Ev));
        assert!(Pred::Not(Box::new(t(FieldId::FdName, Access::Plain, Check::Exists))).eval(&Ev));
        assert!(t(FieldId::ProcPid, Access::Plain, Check::Num(CmpOp::Ge, 42)).eval(&Ev));
        assert!(t(
            FieldId::ProcAname,
            Access::AnyAncestor,
            Check::StrEq("systemd".into())
        )
        .eval(&Ev));
        assert!(!t(
            FieldId::ProcAname,
            Access::Ancestor(1),
            Check::StrEq("systemd".into())
        )
        .eval(&Ev));
        assert!(Pred::And(vec![]).eval(&Ev));
        assert!(!Pred::Or(vec![]).eval(&Ev));
    }

    #[test]
    fn required_types_of_combinations() {
        let ty = |s: &str| t(FieldId::EvtType, Access::Plain, Check::StrEq(s.into()));
        let other = t(FieldId::ProcName, Access::Plain, Check::Exists);
        let p = Pred::And(vec![ty("execve"), other.clone()]);
        assert_eq!(required_types(&p).unwrap().len(), 1);
        let p = Pred::Or(vec![ty("execve"), ty("open")]);
        assert_eq!(required_types(&p).unwrap().len(), 2);
        let p = Pred::Or(vec![ty("execve"), other.clone()]);
        assert!(required_types(&p).is_none());
        let p = Pred::And(vec![Pred::Or(vec![ty("a"), ty("b")]), ty("b")]);
        assert_eq!(
            required_types(&p).unwrap(),
            BTreeSet::from(["b".to_string()])
        );
        assert!(required_types(&Pred::Not(Box::new(ty("a")))).is_none());
    }
}
