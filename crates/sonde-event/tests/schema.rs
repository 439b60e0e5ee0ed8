//! The checked-in JSON Schema (docs/event-schema.json) is the schema the
//! code produces. After an intended change, regenerate it with
//! `SONDE_BLESS=1 cargo test -p sonde-event --test schema` and bump
//! `SCHEMA_VERSION` unless the change only adds optional fields.

use std::path::Path;

#[test]
fn checked_in_schema_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/event-schema.json");
    let generated = serde_json::to_string_pretty(&sonde_event::json_schema()).unwrap() + "\n";
    if std::env::var_os("SONDE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/event-schema.json is out of date: run SONDE_BLESS=1 cargo test -p sonde-event --test schema"
    );
}
