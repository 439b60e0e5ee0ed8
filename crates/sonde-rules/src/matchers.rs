//! String matchers that need more than `str` methods: `glob` and `pmatch`.

/// A compiled glob: `*` any run (including `/`), `?` one character, `[abc]`,
/// `[a-z]`, `[!x]`/`[^x]` one character of (not of) a set; `\x` a literal `x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    toks: Vec<GlobTok>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum GlobTok {
    Lit(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compiles a pattern. Never fails: an unclosed `[` is a literal `[`.
    pub fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if toks.last() != Some(&GlobTok::Star) {
                        toks.push(GlobTok::Star);
                    }
                    i += 1;
                }
                '?' => {
                    toks.push(GlobTok::Any);
                    i += 1;
                }
                '\\' if i + 1 < chars.len() => {
                    toks.push(GlobTok::Lit(chars[i + 1]));
                    i += 2;
                }
                '[' => match parse_class(&chars, i) {
                    Some((tok, next)) => {
                        toks.push(tok);
                        i = next;
                    }
                    None => {
                        toks.push(GlobTok::Lit('['));
                        i += 1;
                    }
                },
                c => {
                    toks.push(GlobTok::Lit(c));
                    i += 1;
                }
            }
        }
        Glob { toks }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let (mut ti, mut pi) = (0usize, 0usize);
        let mut backtrack: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < self.toks.len() {
                match &self.toks[pi] {
                    GlobTok::Star => {
                        backtrack = Some((pi, ti));
                        pi += 1;
                        continue;
                    }
                    tok if tok_matches(tok, t[ti]) => {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            match backtrack {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            }
        }
        self.toks[pi..].iter().all(|t| *t == GlobTok::Star)
    }
}

fn tok_matches(tok: &GlobTok, c: char) -> bool {
    match tok {
        GlobTok::Lit(l) => *l == c,
        GlobTok::Any => true,
        GlobTok::Star => false,
        GlobTok::Class { negated, ranges } => {
            ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated
        }
    }
}

fn parse_class(chars: &[char], start: usize) -> Option<(GlobTok, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((GlobTok::Class { negated, ranges }, i + 1));
        }
        first = false;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

/// `pmatch`: is `path` one of `prefixes`, or below one of them?
pub fn path_match(prefixes: &[Box<str>], path: &str) -> bool {
    prefixes.iter().any(|p| {
        let p = p.trim_end_matches('/');
        if p.is_empty() {
            return path.starts_with('/');
        }
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// ASCII case-insensitive substring search (no allocation).
pub fn icontains(hay: &str, needle_lower: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
    if n.is_empty() {
        return true;
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, t: &str| Glob::new(p).matches(t);
        assert!(g("/usr/bin/*", "/usr/bin/ls"));
        assert!(g("/usr/*/ls", "/usr/local/bin/ls"));
        assert!(!g("/usr/bin/*", "/usr/sbin/ls"));
        assert!(g("*.so*", "libc.so.6"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("[ab]x", "bx"));
        assert!(g("[!ab]x", "cx"));
        assert!(!g("[!ab]x", "ax"));
        assert!(g("[a-c]", "b"));
        assert!(g("[]]", "]"));
        assert!(g("a[", "a["));
        assert!(g("\\*", "*"));
        assert!(!g("\\*", "x"));
        assert!(g("*", ""));
        assert!(!g("", "x"));
        assert!(g("**a**b", "xxaxxb"));
    }

    #[test]
    fn pmatch() {
        let p: Vec<Box<str>> = vec!["/etc".into(), "/root/.ssh/".into()];
        assert!(path_match(&p, "/etc"));
        assert!(path_match(&p, "/etc/shadow"));
        assert!(!path_match(&p, "/etcetera"));
        assert!(path_match(&p, "/root/.ssh/id_rsa"));
        assert!(!path_match(&p, "/root"));
    }

    #[test]
    fn icontains_is_ascii_case_insensitive() {
        assert!(icontains("Stratum+TCP://pool", "stratum"));
        assert!(!icontains("abc", "abcd"));
        assert!(icontains("x", ""));
    }
}
