//! A small YAML tree with positions, built from `saphyr-parser` events.
//!
//! Every node keeps the line and column where it starts; scalars also keep their
//! style and the source text they came from, so that [`Node::map_offset`] can turn
//! an offset inside a scalar's *value* (e.g. the column of a condition syntax error)
//! back into a file line and column, also for multi-line folded or plain scalars.
//! Aliases are expanded, with a budget on the total node count so that an
//! "exponential aliases" document is rejected instead of eating memory.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Total nodes a document may expand to (aliases included).
const NODE_BUDGET: usize = 1_000_000;
/// Maximum nesting depth of sequences and mappings.
const MAX_DEPTH: usize = 128;

/// 1-based line, 1-based column (characters), and character index in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line from 1.
    pub line: usize,
    /// Column from 1.
    pub col: usize,
    /// Character index in the source.
    pub index: usize,
}

impl Pos {
    fn from_span(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
            index: span.start.index(),
        }
    }
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// The node itself.
    pub kind: NodeKind,
}

/// The kinds of YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar: its value, its style and the source span's end index.
    Scalar {
        /// The value after YAML unquoting/folding.
        value: String,
        /// How it was written.
        style: ScalarStyle,
        /// Character index just past the scalar in the source.
        end: usize,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error: where and the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where.
    pub pos: Pos,
    /// The parser's message.
    pub message: String,
}

impl Node {
    /// The scalar value, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// A short name of the node's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a sequence",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Maps a character offset inside this scalar's value to a file position.
    ///
    /// Walks the value and the source side by side; source whitespace (line
    /// breaks, indentation) that folding removed is skipped. When the two
    /// disagree in another way (escapes in quoted scalars), falls back to the
    /// scalar's start.
    pub fn map_offset(&self, source: &[char], offset: usize) -> Pos {
        let NodeKind::Scalar {
            value, style, end, ..
        } = &self.kind
        else {
            return self.pos;
        };
        let mut src = self.pos.index;
        match style {
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => src += 1,
            ScalarStyle::Literal | ScalarStyle::Folded => {
                // The span normally starts at the content; skip a header line
                // (`|`, `>-`, ...) if it starts there.
                if matches!(source.get(src), Some('|' | '>')) {
                    while src < *end && source.get(src) != Some(&'\n') {
                        src += 1;
                    }
                }
            }
            ScalarStyle::Plain => {}
        }
        let end = (*end).min(source.len());
        for (i, vc) in value.chars().enumerate() {
            if i == offset {
                break;
            }
            loop {
                let Some(&sc) = source.get(src).filter(|_| src < end) else {
                    return self.pos;
                };
                if sc == vc {
                    src += 1;
                    break;
                }
                if sc.is_whitespace() {
                    src += 1;
                    continue;
                }
                if vc.is_whitespace() {
                    // A fold produced a space the source has as a line break we
                    // already skipped: consume the value char only.
                    break;
                }
                return self.pos;
            }
        }
        // Skip whitespace that folding removed before the target character.
        if offset < value.chars().count() {
            let target = value.chars().nth(offset).unwrap_or(' ');
            while src < end && source[src] != target && source[src].is_whitespace() {
                src += 1;
            }
        }
        position_of(source, src)
    }
}

/// Line and column of a character index.
pub fn position_of(source: &[char], index: usize) -> Pos {
    let mut line = 1;
    let mut col = 1;
    for &c in source.iter().take(index) {
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    Pos { line, col, index }
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

/// Parses all documents of `text`.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = Default::default();
    let mut budget = NODE_BUDGET;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| YamlError {
            pos: Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
                index: e.marker().index(),
            },
            message: e.info().to_string(),
        })?;
        let pos = Pos::from_span(&span);
        let err = |message: &str| YamlError {
            pos,
            message: message.to_string(),
        };
        let done: Option<(Node, usize)> = match ev {
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err("nesting too deep"));
                }
                stack.push(Frame::Seq(pos, anchor, Vec::new()));
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err("nesting too deep"));
                }
                stack.push(Frame::Map(pos, anchor, Vec::new(), None));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(p, anchor, items)) => Some((
                    Node {
                        pos: p,
                        kind: NodeKind::Seq(items),
                    },
                    anchor,
                )),
                _ => return Err(err("unbalanced sequence end")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(p, anchor, items, None)) => Some((
                    Node {
                        pos: p,
                        kind: NodeKind::Map(items),
                    },
                    anchor,
                )),
                _ => return Err(err("unbalanced mapping end")),
            },
            Event::Scalar(value, style, anchor, _) => Some((
                Node {
                    pos,
                    kind: NodeKind::Scalar {
                        value: value.into_owned(),
                        style,
                        end: span.end.index(),
                    },
                },
                anchor,
            )),
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| err("alias to an unknown anchor"))?;
                let n = count_nodes(&node);
                if n > budget {
                    return Err(err(
                        "document too large (aliases expand beyond the node budget)",
                    ));
                }
                budget -= n;
                Some((node, 0))
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => None,
        };
        let Some((node, anchor)) = done else { continue };
        budget = budget
            .checked_sub(1)
            .ok_or_else(|| err("document too large"))?;
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, items, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => items.push((k, node)),
            },
        }
    }
    Ok(docs)
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(items) => {
            1 + items
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_nodes() {
        let text = "- rule: a\n  condition: x = 1\n";
        let docs = parse(text).unwrap();
        let NodeKind::Seq(items) = &docs[0].kind else {
            panic!()
        };
        let NodeKind::Map(kv) = &items[0].kind else {
            panic!()
        };
        assert_eq!(kv[1].0.as_str(), Some("condition"));
        assert_eq!((kv[1].1.pos.line, kv[1].1.pos.col), (2, 14));
    }

    #[test]
    fn maps_offsets_in_folded_scalars() {
        let text = "c: >\n  a and\n    b or c\n";
        let src: Vec<char> = text.chars().collect();
        let docs = parse(text).unwrap();
        let NodeKind::Map(kv) = &docs[0].kind else {
            panic!()
        };
        let v = &kv[0].1;
        let value = v.as_str().unwrap();
        let off = value.find("or").unwrap();
        let p = v.map_offset(&src, off);
        assert_eq!((p.line, p.col), (3, 7));
    }

    #[test]
    fn maps_offsets_in_plain_multiline() {
        let text = "c: a and\n   b or c\n";
        let src: Vec<char> = text.chars().collect();
        let docs = parse(text).unwrap();
        let NodeKind::Map(kv) = &docs[0].kind else {
            panic!()
        };
        let v = &kv[0].1;
        let off = v.as_str().unwrap().find('b').unwrap();
        let p = v.map_offset(&src, off);
        assert_eq!((p.line, p.col), (2, 4));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.pos.line >= 1);
    }

    #[test]
    fn aliases_expand() {
        let docs = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let NodeKind::Map(kv) = &docs[0].kind else {
            panic!()
        };
        assert_eq!(kv[0].1.kind, kv[1].1.kind);
    }
}
