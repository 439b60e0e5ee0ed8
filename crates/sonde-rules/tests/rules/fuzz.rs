//! No input makes the loader or the condition parser panic: random bytes,
//! random token soup, and mutations of a valid rules file.

use sonde_rules::condition;
use sonde_rules::load_str;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "and",
    "or",
    "not",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "contains",
    "icontains",
    "startswith",
    "endswith",
    "glob",
    "in",
    "intersects",
    "pmatch",
    "exists",
    "proc.name",
    "proc.pid",
    "proc.aname",
    "proc.aname[2]",
    "proc.aname[0]",
    "proc.aname[",
    "evt.type",
    "evt.arg.flags",
    "evt.failed",
    "fd.name",
    "true",
    "42",
    "-1",
    "0x",
    "sh",
    "\"quoted\"",
    "'x",
    "\"",
    "\\",
    "[",
    "]",
    "*",
    "/etc/*",
    "m1",
    "m2",
    "l1",
    "é",
    "\n",
    " ",
];

const YAML_TOKENS: &[&str] = &[
    "- ",
    "rule: ",
    "macro: ",
    "list: ",
    "condition: ",
    "output: ",
    "priority: ",
    "items: ",
    "sequence:",
    "by: ",
    "within: ",
    "tags: ",
    "enabled: ",
    "\n",
    "  ",
    "    ",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "|",
    ">",
    "\"",
    "'",
    "#",
    "m1",
    "l1",
    "proc.name = sh",
    "%proc.name",
    "WARNING",
    "5s",
    "---",
    "...",
    "? ",
    "\t",
    "\u{feff}",
    "é",
];

const BASE: &str = "- list: l1
  items: [sh, bash]
- macro: m1
  condition: evt.type = execve and proc.name in (l1)
- macro: m2
  condition: m1 and not proc.aname[2] = nginx
- rule: r
  desc: d
  condition: >
    m2 and fd.name glob /etc/* or
    proc.pid > 3
  output: \"%proc.name %proc.aname[1]\"
  priority: WARNING
  tags: [a]
- rule: s
  by: proc.tree_id
  sequence:
    - condition: m1
    - condition: evt.type = connect
      within: 5s
  output: x
  priority: INFO
";

/// Iterations scale with `SONDE_RULES_FUZZ_SCALE` (default 1) for longer runs.
fn scaled(n: usize) -> usize {
    let scale = std::env::var("SONDE_RULES_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1);
    n * scale.max(1)
}

fn soup(rng: &mut Rng, tokens: &[&str], n: usize, sep: &str) -> String {
    (0..n)
        .map(|_| tokens[rng.below(tokens.len())])
        .collect::<Vec<_>>()
        .join(sep)
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..scaled(3000) {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = condition::parse(&text);
        let _ = load_str("f.yaml", &text);
    }
}

#[test]
fn token_soup_never_panics() {
    let mut rng = Rng(42);
    let prelude = "- list: l1\n  items: [a]\n- macro: m1\n  condition: proc.name = a\n- macro: m2\n  condition: m1\n";
    for _ in 0..scaled(5000) {
        let n = 1 + rng.below(12);
        let cond = soup(&mut rng, TOKENS, n, " ");
        let _ = condition::parse(&cond);
        let yaml = format!(
            "{prelude}- rule: r\n  condition: '{}'\n  output: x\n  priority: INFO\n",
            cond.replace('\'', "''").replace('\n', " ")
        );
        let _ = load_str("f.yaml", &yaml);
        let n = 1 + rng.below(30);
        let yaml = soup(&mut rng, YAML_TOKENS, n, "");
        let _ = load_str("f.yaml", &yaml);
    }
}

#[test]
fn mutations_of_a_valid_file_never_panic() {
    assert!(
        load_str("base.yaml", BASE).is_ok(),
        "{:?}",
        load_str("base.yaml", BASE).err()
    );
    let mut rng = Rng(7);
    let chars: Vec<char> = BASE.chars().collect();
    for _ in 0..scaled(3000) {
        let mut c = chars.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(c.len());
            match rng.below(3) {
                0 => {
                    c.remove(i);
                }
                1 => c.insert(
                    i,
                    YAML_TOKENS[rng.below(YAML_TOKENS.len())]
                        .chars()
                        .next()
                        .unwrap_or(' '),
                ),
                _ => {
                    c[i] = TOKENS[rng.below(TOKENS.len())]
                        .chars()
                        .next()
                        .unwrap_or(' ')
                }
            }
        }
        let text: String = c.into_iter().collect();
        if let Err(e) = load_str("m.yaml", &text) {
            for line in e.lines() {
                assert!(line.starts_with("m.yaml:"), "{line}");
            }
        }
    }
}

#[test]
fn pathological_inputs_are_errors() {
    let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(condition::parse(&deep).is_err());
    let deep_yaml = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(load_str("d.yaml", &deep_yaml).is_err());
    // Exponential aliases are cut off by the node budget.
    let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        y.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(load_str("bomb.yaml", &y).is_err());
    // A long acyclic macro chain is fine (compiled leaves first, no deep recursion).
    let mut chain = String::from("- macro: m0\n  condition: proc.name = a\n");
    for i in 1..3000 {
        chain.push_str(&format!("- macro: m{i}\n  condition: m{}\n", i - 1));
    }
    chain.push_str("- rule: r\n  condition: m2999\n  output: x\n  priority: INFO\n");
    assert!(load_str("chain.yaml", &chain).is_ok());
}
