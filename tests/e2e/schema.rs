//! The checked-in SDL is the schema clients see: every type, field, argument, input
//! field, enum value and directive that introspection of a running server shows, with
//! its type, default value, description, deprecation and `@specifiedBy` URL, is in
//! `schema/schema.graphql`, and nothing else is. (Comparing the file with what the
//! binary prints from the same code could not notice what that printing leaves out.)

use std::collections::BTreeSet;

use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};
use serde_json::{Value, json};

use crate::support::{BINARY, Backend, TestApp, run};

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/schema.graphql");
const REGENERATE: &str = "run `cargo run -q -- schema > schema/schema.graphql`";

/// graphql-js's `getIntrospectionQuery({ descriptions: true, specifiedByUrl: true,
/// directiveIsRepeatable: true, inputValueDeprecation: true })`, less the fields this
/// comparison does not read.
const INTROSPECTION: &str = r#"query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
}"#;

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

/// Directives the GraphQL specification defines: every implementation knows them, so
/// their definitions are not part of this schema (graphql-js's `printSchema` leaves them
/// out too); where the schema uses them (`@specifiedBy` on a scalar, `@deprecated`,
/// `@oneOf`) that is compared.
const SPECIFIED_DIRECTIVES: [&str; 5] = ["include", "skip", "deprecated", "specifiedBy", "oneOf"];

/// `[String!]!` from an introspection type reference.
fn type_ref(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&ty["ofType"])),
        _ => ty["name"].as_str().expect("a named type").to_owned(),
    }
}

fn text(value: &Value) -> String {
    value.as_str().map(str::trim).unwrap_or("").to_owned()
}

fn deprecation(item: &Value) -> String {
    if item["isDeprecated"] == true {
        format!(" @deprecated({})", text(&item["deprecationReason"]))
    } else {
        String::new()
    }
}

fn input_value(owner: &str, item: &Value) -> String {
    let default = item["defaultValue"].as_str().map(|d| format!(" = {d}")).unwrap_or_default();
    format!(
        "{owner}({}): {}{default}{} \"{}\"",
        text(&item["name"]),
        type_ref(&item["type"]),
        deprecation(item),
        text(&item["description"])
    )
}

/// One line per fact of the schema that introspection shows.
fn introspected(schema: &Value) -> BTreeSet<String> {
    let schema = &schema["__schema"];
    let mut facts = BTreeSet::new();
    let root = |key: &str| schema[key]["name"].as_str().unwrap_or("-").to_owned();
    facts.insert(format!(
        "schema query={} mutation={} subscription={}",
        root("queryType"),
        root("mutationType"),
        root("subscriptionType")
    ));
    for ty in schema["types"].as_array().expect("types") {
        let name = text(&ty["name"]);
        if name.starts_with("__") || BUILT_IN_SCALARS.contains(&name.as_str()) {
            continue;
        }
        let specified_by = ty["specifiedByURL"].as_str().map(|url| format!(" @specifiedBy({url})")).unwrap_or_default();
        let one_of = if ty["isOneOf"] == true { " @oneOf" } else { "" };
        facts.insert(format!("{} {name}{specified_by}{one_of} \"{}\"", text(&ty["kind"]), text(&ty["description"])));
        for interface in ty["interfaces"].as_array().into_iter().flatten() {
            facts.insert(format!("{name} implements {}", type_ref(interface)));
        }
        for member in ty["possibleTypes"].as_array().into_iter().flatten() {
            if ty["kind"] == "UNION" {
                facts.insert(format!("{name} member {}", type_ref(member)));
            }
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let field_name = format!("{name}.{}", text(&field["name"]));
            facts.insert(format!(
                "{field_name}: {}{} \"{}\"",
                type_ref(&field["type"]),
                deprecation(field),
                text(&field["description"])
            ));
            for arg in field["args"].as_array().expect("args") {
                facts.insert(input_value(&field_name, arg));
            }
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            facts.insert(input_value(&format!("{name}.input"), field));
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            facts.insert(format!(
                "{name}.{}{} \"{}\"",
                text(&value["name"]),
                deprecation(value),
                text(&value["description"])
            ));
        }
    }
    for directive in schema["directives"].as_array().expect("directives") {
        if SPECIFIED_DIRECTIVES.contains(&text(&directive["name"]).as_str()) {
            continue;
        }
        let name = format!("@{}", text(&directive["name"]));
        let mut locations: Vec<String> =
            directive["locations"].as_array().expect("locations").iter().map(text).collect();
        locations.sort();
        let repeatable = if directive["isRepeatable"] == true { " repeatable" } else { "" };
        facts.insert(format!(
            "directive {name}{repeatable} on {} \"{}\"",
            locations.join("|"),
            text(&directive["description"])
        ));
        for arg in directive["args"].as_array().expect("args") {
            facts.insert(input_value(&name, arg));
        }
    }
    facts
}

/// `InputFieldDefinition` → `INPUT_FIELD_DEFINITION`.
fn screaming(debug: String) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn described(description: &Option<async_graphql::Positioned<String>>) -> String {
    description.as_ref().map(|d| d.node.trim().to_owned()).unwrap_or_default()
}

fn directive_fact(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>],
    name: &str,
) -> Option<String> {
    directives
        .iter()
        .find(|d| d.node.name.node == name)
        .map(|d| d.node.arguments.first().map(|(_, v)| v.node.to_string()).unwrap_or_default())
}

fn sdl_deprecation(directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>]) -> String {
    directive_fact(directives, "deprecated")
        .map(|reason| format!(" @deprecated({})", reason.trim_matches('"')))
        .unwrap_or_default()
}

fn sdl_input_value(owner: &str, item: &async_graphql::parser::types::InputValueDefinition) -> String {
    let default = item.default_value.as_ref().map(|d| format!(" = {}", d.node)).unwrap_or_default();
    format!(
        "{owner}({}): {}{default}{} \"{}\"",
        item.name.node,
        item.ty.node,
        sdl_deprecation(&item.directives),
        described(&item.description)
    )
}

/// The same facts, read from the SDL text (`text`, parsed into `document`).
fn declared(text: &str, document: &ServiceDocument) -> BTreeSet<String> {
    let mut facts = BTreeSet::new();
    for definition in &document.definitions {
        match definition {
            TypeSystemDefinition::Schema(schema) => {
                let name = |n: &Option<async_graphql::Positioned<async_graphql::Name>>| {
                    n.as_ref().map_or("-".to_owned(), |n| n.node.to_string())
                };
                facts.insert(format!(
                    "schema query={} mutation={} subscription={}",
                    name(&schema.node.query),
                    name(&schema.node.mutation),
                    name(&schema.node.subscription)
                ));
            }
            TypeSystemDefinition::Type(ty) => {
                let ty = &ty.node;
                let name = ty.name.node.to_string();
                let kind = match &ty.kind {
                    TypeKind::Scalar => "SCALAR",
                    TypeKind::Object(_) => "OBJECT",
                    TypeKind::Interface(_) => "INTERFACE",
                    TypeKind::Union(_) => "UNION",
                    TypeKind::Enum(_) => "ENUM",
                    TypeKind::InputObject(_) => "INPUT_OBJECT",
                };
                let specified_by = directive_fact(&ty.directives, "specifiedBy")
                    .map(|url| format!(" @specifiedBy({})", url.trim_matches('"')))
                    .unwrap_or_default();
                let one_of = if directive_fact(&ty.directives, "oneOf").is_some() { " @oneOf" } else { "" };
                facts.insert(format!("{kind} {name}{specified_by}{one_of} \"{}\"", described(&ty.description)));
                let fields = match &ty.kind {
                    TypeKind::Object(object) => {
                        for interface in &object.implements {
                            facts.insert(format!("{name} implements {}", interface.node));
                        }
                        object.fields.as_slice()
                    }
                    TypeKind::Interface(interface) => interface.fields.as_slice(),
                    _ => &[],
                };
                for field in fields {
                    let field = &field.node;
                    let field_name = format!("{name}.{}", field.name.node);
                    facts.insert(format!(
                        "{field_name}: {}{} \"{}\"",
                        field.ty.node,
                        sdl_deprecation(&field.directives),
                        described(&field.description)
                    ));
                    for arg in &field.arguments {
                        facts.insert(sdl_input_value(&field_name, &arg.node));
                    }
                }
                match &ty.kind {
                    TypeKind::Union(union) => {
                        for member in &union.members {
                            facts.insert(format!("{name} member {}", member.node));
                        }
                    }
                    TypeKind::Enum(enumeration) => {
                        for value in &enumeration.values {
                            facts.insert(format!(
                                "{name}.{}{} \"{}\"",
                                value.node.value.node,
                                sdl_deprecation(&value.node.directives),
                                described(&value.node.description)
                            ));
                        }
                    }
                    TypeKind::InputObject(input) => {
                        for field in &input.fields {
                            facts.insert(sdl_input_value(&format!("{name}.input"), &field.node));
                        }
                    }
                    _ => {}
                }
            }
            TypeSystemDefinition::Directive(directive) => {
                let directive = &directive.node;
                if SPECIFIED_DIRECTIVES.contains(&directive.name.node.as_str()) {
                    continue;
                }
                let name = format!("@{}", directive.name.node);
                let mut locations: Vec<String> =
                    directive.locations.iter().map(|l| screaming(format!("{:?}", l.node))).collect();
                locations.sort();
                // async-graphql's parser reads every directive as repeatable; the text says.
                let definition = text
                    .lines()
                    .find(|line| {
                        line.starts_with(&format!("directive {name}("))
                            || line.starts_with(&format!("directive {name} "))
                    })
                    .unwrap_or_default();
                let repeatable = if definition.contains(" repeatable ") { " repeatable" } else { "" };
                facts.insert(format!(
                    "directive {name}{repeatable} on {} \"{}\"",
                    locations.join("|"),
                    described(&directive.description)
                ));
                for arg in &directive.arguments {
                    facts.insert(sdl_input_value(&name, &arg.node));
                }
            }
        }
    }
    facts
}

async fn the_checked_in_sdl_is_what_introspection_shows(app: TestApp) -> TestApp {
    let live = introspected(&app.data(INTROSPECTION, json!({}), None).await);
    let text = std::fs::read_to_string(CHECKED_IN).expect("schema/schema.graphql exists");
    let document = async_graphql::parser::parse_schema(&text).expect("schema/schema.graphql parses");
    let checked_in = declared(&text, &document);
    let missing: Vec<&String> = live.difference(&checked_in).collect();
    let extra: Vec<&String> = checked_in.difference(&live).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "schema/schema.graphql differs from introspection ({REGENERATE}).\nintrospection only:\n  {}\nSDL only:\n  {}",
        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
    );
    assert!(
        checked_in.iter().any(|fact| fact.starts_with("SCALAR DateTime @specifiedBy(")),
        "DateTime names its specification"
    );
    assert!(live.contains("Operator.designations(includeHistory): Boolean = false \"\""), "as SPEC.md declares it");
    // The built-in scalars listed are the ones something uses (the specification: an
    // unreferenced one is not to be listed; async-graphql would list `Float`).
    let types = app.data("{ __schema { types { kind n: name } } }", json!({}), None).await;
    let scalars: Vec<&str> = types["__schema"]["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter(|t| t["kind"] == "SCALAR")
        .filter_map(|t| t["n"].as_str())
        .filter(|name| BUILT_IN_SCALARS.contains(name))
        .collect();
    assert_eq!(scalars, ["Boolean", "ID", "Int", "String"], "{types}");
    app
}

/// Runs once: the schema does not depend on the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checked_in_sdl_is_what_introspection_shows() {
    run(Backend::Sqlite, the_checked_in_sdl_is_what_introspection_shows).await;
}

/// `scope-registry schema` prints the checked-in file, so that regenerating it is one
/// command.
#[test]
fn the_schema_command_prints_the_checked_in_file() {
    let output = std::process::Command::new(BINARY).arg("schema").output().expect("run scope-registry schema");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let checked_in = std::fs::read_to_string(CHECKED_IN).expect("schema/schema.graphql exists");
    assert!(printed == checked_in, "schema/schema.graphql is out of date: {REGENERATE}");
}
