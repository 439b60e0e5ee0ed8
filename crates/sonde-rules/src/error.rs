//! Load errors: every one carries the file, line and column it is about.
//!
//! A load returns either a validated [`crate::RuleSet`] or *all* the errors found
//! ([`LoadErrors`]); each displays as `file:line:col: message`, lines and columns
//! counted from 1, the column in characters.

use std::fmt;

/// A position in a rules file (1-based line and column, column in characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file name as given to the loader.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What is wrong, without where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The YAML itself does not parse.
    #[error("YAML syntax error: {0}")]
    Yaml(String),
    /// The YAML parses but is not shaped like a rules file.
    #[error("{0}")]
    Structure(String),
    /// A key that a rule, macro or list item does not know.
    #[error("unknown key `{key}` in {item}{hint}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// `rule`, `macro`, `list`, `sequence step`.
        item: &'static str,
        /// Extra help, empty or starting with `; `.
        hint: String,
    },
    /// A required key is absent.
    #[error("{item} `{name}` has no `{key}`")]
    MissingKey {
        /// The key that is missing.
        key: &'static str,
        /// `rule`, `macro`, `list`.
        item: &'static str,
        /// The item's name.
        name: String,
    },
    /// A priority that is not one of Falco's.
    #[error("unknown priority `{0}` (expected one of EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL, DEBUG)")]
    UnknownPriority(String),
    /// The condition text does not parse.
    #[error("condition syntax error: {0}")]
    ConditionSyntax(String),
    /// A field name that is not in the registry.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A bare name in a condition that is no macro.
    #[error("unknown macro `{0}`")]
    UnknownMacro(String),
    /// `in name` (without parentheses) naming no list.
    #[error("unknown list `{0}`")]
    UnknownList(String),
    /// Macros that expand into themselves.
    #[error("macro cycle: {0}")]
    MacroCycle(String),
    /// An operator or value that does not fit the field's type.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// An index on a field that takes none, or a missing/bad index.
    #[error("bad field index: {0}")]
    BadIndex(String),
    /// Two rules (or macros, or lists) of the same name.
    #[error("duplicate {item} `{name}` (first defined at line {first_line})")]
    Duplicate {
        /// `rule`, `macro`, `list`.
        item: &'static str,
        /// The repeated name.
        name: String,
        /// Where the first one is.
        first_line: usize,
    },
    /// A bad `sequence`/`by`/`within`.
    #[error("sequence: {0}")]
    Sequence(String),
    /// An output template that refers to something wrong.
    #[error("output: {0}")]
    Output(String),
}

/// One load error: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct RuleError {
    /// Where.
    pub location: Location,
    /// What.
    pub kind: ErrorKind,
}

/// All errors of one load, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<RuleError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

impl LoadErrors {
    /// The errors, one per line, as `file:line:col: message`.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}
