//! The checked-in SDL is exactly what the binary prints.

use crate::support::BINARY;

#[test]
fn checked_in_schema_matches_the_binary() {
    let output = std::process::Command::new(BINARY).arg("schema").output().expect("run scope-registry schema");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema/schema.graphql exists");
    assert!(
        printed == checked_in,
        "schema/schema.graphql is out of date: run `cargo run -q -- schema > schema/schema.graphql`"
    );
}
