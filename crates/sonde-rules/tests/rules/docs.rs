//! RULES.md's field table is generated from the registry; this test fails when
//! it drifts and rewrites it with `SONDE_BLESS=1`.

use sonde_rules::fields::Indexing;
use sonde_rules::{FieldType, FIELDS};

const BEGIN: &str = "<!-- fields:begin -->\n";
const END: &str = "<!-- fields:end -->";

fn table() -> String {
    let mut t = String::from("| field | type | description |\n| --- | --- | --- |\n");
    for f in FIELDS {
        let name = match f.indexing {
            Indexing::Ancestor => format!("{}[N]", f.name),
            Indexing::None => f.name.to_string(),
        };
        let ty = match f.ty {
            FieldType::Str => "string",
            FieldType::Num => "number",
            FieldType::Bool => "bool",
            FieldType::StrList => "string list",
        };
        t.push_str(&format!("| `{name}` | {ty} | {} |\n", f.description));
    }
    t
}

#[test]
fn docs_field_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/RULES.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("begin marker");
    let (_, tail) = rest.split_once(END).expect("end marker");
    let want = format!("{head}{BEGIN}{}{END}{tail}", table());
    if std::env::var_os("SONDE_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    } else {
        assert!(
            doc == want,
            "RULES.md field table is stale: run SONDE_BLESS=1 cargo test -p sonde-rules --test rules docs"
        );
    }
}
