//! Condition lexer: characters → tokens, each with its character offset.
//!
//! Words are runs of characters other than whitespace, `(`, `)`, `,`, `=`, `<`,
//! `>`, `!` and quotes, so `fd.name=/etc/shadow`, `proc.aname[2]` and
//! `/usr/bin/*` each lex as expected. Quoted strings take `"…"` or `'…'` with
//! backslash escapes (`\"`, `\'`, `\\`, `\n`, `\t`).

/// Token kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`
    Op(&'static str),
    /// A bare word.
    Word(String),
    /// A quoted string (unescaped).
    Quoted(String),
}

/// A token and its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Kind and text.
    pub tok: Tok,
    /// Character offset.
    pub offset: usize,
}

/// A lexing error: offset and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// Character offset.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

fn is_word_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | '<' | '>' | '!' | '"' | '\''))
}

/// Splits a condition into tokens.
pub fn lex(text: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let next = chars.get(i + 1).copied();
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += if next == Some('=') { 2 } else { 1 };
                Tok::Op("=")
            }
            '!' if next == Some('=') => {
                i += 2;
                Tok::Op("!=")
            }
            '!' => {
                return Err(LexError {
                    offset: i,
                    message: "unexpected `!` (use `not` or `!=`)".into(),
                })
            }
            '<' | '>' => {
                let op = match (c, next == Some('=')) {
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    (_, true) => ">=",
                    (_, false) => ">",
                };
                i += op.len();
                Tok::Op(op)
            }
            '"' | '\'' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(LexError {
                                offset: start,
                                message: "unterminated string".into(),
                            })
                        }
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let e = chars.get(i + 1).copied();
                            s.push(match e {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some(other) => other,
                                None => {
                                    return Err(LexError {
                                        offset: start,
                                        message: "unterminated string".into(),
                                    })
                                }
                            });
                            i += 2;
                        }
                        Some(&other) => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                Tok::Quoted(s)
            }
            _ => {
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
        };
        out.push(Token { tok, offset: start });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_compact_comparisons() {
        assert_eq!(
            kinds("fd.name=/etc/shadow"),
            vec![
                Tok::Word("fd.name".into()),
                Tok::Op("="),
                Tok::Word("/etc/shadow".into())
            ]
        );
        assert_eq!(
            kinds("proc.aname[2]!=\"a b\""),
            vec![
                Tok::Word("proc.aname[2]".into()),
                Tok::Op("!="),
                Tok::Quoted("a b".into())
            ]
        );
        assert_eq!(
            kinds("x in (a,'b')"),
            vec![
                Tok::Word("x".into()),
                Tok::Word("in".into()),
                Tok::LParen,
                Tok::Word("a".into()),
                Tok::Comma,
                Tok::Quoted("b".into()),
                Tok::RParen
            ]
        );
        assert_eq!(kinds("a>=1 b<2")[1], Tok::Op(">="));
    }

    #[test]
    fn offsets_are_in_characters() {
        let t = lex("é = x").unwrap();
        assert_eq!(t[1].offset, 2);
    }

    #[test]
    fn errors() {
        assert_eq!(lex("a = \"x").unwrap_err().offset, 4);
        assert_eq!(lex("! a").unwrap_err().offset, 0);
        assert_eq!(kinds(r#""a\"b""#), vec![Tok::Quoted("a\"b".into())]);
    }
}
