//! The condition syntax tree. Offsets are character offsets into the condition.

/// A word or quoted string as written, with its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text (unquoted).
    pub text: String,
    /// Whether it was quoted (quoted words never name lists).
    pub quoted: bool,
    /// Character offset in the condition.
    pub offset: usize,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=` or `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `icontains` (ASCII case-insensitive)
    IContains,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `glob` (`*`, `?`, `[a-z]`, `[!x]`; `*` also matches `/`)
    Glob,
    /// `in (…)`
    In,
    /// `intersects (…)`
    Intersects,
    /// `pmatch (…)`: the path is one of, or below one of, the given paths
    Pmatch,
    /// `exists`
    Exists,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::IContains => "icontains",
            CmpOp::StartsWith => "startswith",
            CmpOp::EndsWith => "endswith",
            CmpOp::Glob => "glob",
            CmpOp::In => "in",
            CmpOp::Intersects => "intersects",
            CmpOp::Pmatch => "pmatch",
            CmpOp::Exists => "exists",
        }
    }

    /// Operators that take a parenthesised list.
    pub fn takes_list(self) -> bool {
        matches!(self, CmpOp::In | CmpOp::Intersects | CmpOp::Pmatch)
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// `exists` has none.
    None,
    /// One value.
    Value(Word),
    /// `(a, b, list_name)`.
    List(Vec<Word>),
    /// `in list_name` without parentheses: must name a list.
    ListName(Word),
}

/// A condition expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// All must hold.
    And(Vec<Expr>),
    /// One must hold.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// `field op operand`.
    Cmp {
        /// The field as written (`proc.aname[2]`).
        field: Word,
        /// The operator.
        op: CmpOp,
        /// Its operand.
        operand: Operand,
    },
    /// A bare name: a macro reference.
    Macro(Word),
}
