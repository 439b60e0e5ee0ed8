//! The condition language: Falco's syntax, lexed and parsed into an [`ast::Expr`].
//!
//! - `lexer.rs`: characters → tokens with character offsets.
//! - `parser.rs`: tokens → AST (precedence `not` > `and` > `or`), names left
//!   unresolved: fields, macros and lists are resolved by `compile.rs`.
//! - `ast.rs`: the tree.

pub mod ast;
pub mod lexer;
pub mod parser;

pub use ast::{CmpOp, Expr, Operand, Word};
pub use parser::{parse, SyntaxError};
