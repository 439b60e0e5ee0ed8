//! sonde's detection rules: a Falco-style YAML rule language and its engine.
//!
//! Pure user space, independent of sonde's event types: events are matched
//! through the [`EventFields`] trait. Load rules with [`load_str`] /
//! [`load_files`] into a validated [`RuleSet`] (or get every error as
//! `file:line:col: message`), run events through an [`Engine`], get [`Alert`]s.
//! Reload = load a new set and [`Engine::replace_rules`] on success; on error
//! keep the old one.
//!
//! The rule format, operators and field table are documented in `RULES.md`
//! beside this crate (its field table is generated from [`FIELDS`] by a test).
//!
//! Files:
//! - `load/`: YAML items → lists, macros (`mod.rs`), rules and sequences
//!   (`rules.rs`), shared checks and error collection (`ctx.rs`).
//! - `yaml.rs`: YAML tree with positions (from `saphyr-parser` events), offset mapping.
//! - `error.rs`: [`Location`], [`ErrorKind`], [`RuleError`], [`LoadErrors`].
//! - `condition/`: `lexer.rs`, `parser.rs`, `ast.rs` — Falco's condition syntax.
//! - `compile.rs`: AST → typed predicates; macros, lists, type checks, macro cycles.
//! - `fields.rs`: the field registry ([`FIELDS`]), [`FieldId`], [`EventFields`].
//! - `eval.rs`: predicates, evaluation, the `evt.type` requirement of a condition.
//! - `matchers.rs`: `glob`, `pmatch`, ASCII `icontains`.
//! - `output.rs`: `%field` output templates.
//! - `rule.rs`: [`Rule`], [`Priority`], [`RuleSet`] with its `evt.type` index.
//! - `sequence.rs`: time-window rules (`sequence:` + `by:`), bounded per-key state.
//! - `engine.rs`: [`Engine`]: rule set + sequence state, `process(event)`.

pub mod compile;
pub mod condition;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fields;
pub mod load;
pub mod matchers;
pub mod output;
pub mod rule;
pub mod sequence;
pub mod yaml;

pub use engine::{Engine, EngineStats};
pub use error::{ErrorKind, LoadErrors, Location, RuleError};
pub use fields::{EventFields, FieldDef, FieldId, FieldType, FieldValue, FIELDS};
pub use load::{load_files, load_sources, load_str, Source};
pub use rule::{Alert, Matcher, Priority, Rule, RuleAction, RuleSet};
pub use sequence::{SequenceStats, DEFAULT_MAX_KEYS};
