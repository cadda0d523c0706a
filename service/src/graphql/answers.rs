//! Which requests' answers may be kept whole (`read_model::answers`): queries whose root
//! fields are answered from the read model's memory, and that do not ask for the state
//! as recorded at a past instant (those read the audit trail, and are rare).

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

use super::limits::selected_operation;

/// Root query fields answered from the reference snapshot or the registry index (and
/// only changed by recorded changes, which advance the answers' generation).
const FROM_MEMORY: &[&str] = &[
    "businessDomain",
    "businessDomains",
    "crosswalk",
    "crosswalkConsistency",
    "ministries",
    "obligationRules",
    "operator",
    "operatorStatuses",
    "overlap",
    "scopeGaps",
    "scopeItemCrosswalk",
    "sector",
    "sectors",
    "sources",
    "__typename",
];

/// The argument that asks for the state as recorded at an instant.
const KNOWN_AT: &str = "knownAt";

/// Whether the answer to `doc`'s selected operation may be kept and given again to the
/// same request.
pub fn may_be_kept(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let Some(operation) = selected_operation(doc, operation_name) else { return false };
    if operation.node.ty != OperationType::Query {
        return false;
    }
    let root = &operation.node.selection_set.node;
    let fragments_kept = doc.fragments.values().all(|fragment| asks_only_now(&fragment.node.selection_set.node));
    root_fields_from_memory(root) && asks_only_now(root) && fragments_kept
}

fn root_fields_from_memory(set: &SelectionSet) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => FROM_MEMORY.contains(&field.node.name.node.as_str()),
        Selection::InlineFragment(fragment) => root_fields_from_memory(&fragment.node.selection_set.node),
        // A spread at the root: its fields are not looked up here, so it is not kept.
        Selection::FragmentSpread(_) => false,
    })
}

/// No field of `set`, at any depth, has a `knownAt` argument.
fn asks_only_now(set: &SelectionSet) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => {
            field.node.arguments.iter().all(|(name, _)| name.node.as_str() != KNOWN_AT)
                && asks_only_now(&field.node.selection_set.node)
        }
        Selection::InlineFragment(fragment) => asks_only_now(&fragment.node.selection_set.node),
        Selection::FragmentSpread(_) => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(query: &str) -> bool {
        may_be_kept(&async_graphql::parser::parse_query(query).unwrap(), None)
    }

    #[test]
    fn queries_answered_from_memory_now_are_kept() {
        assert!(kept("{ sectors { code links { relation } } }"));
        assert!(kept("query L($cn: String!) { operator(corporateNumber: $cn) { nameJa designations { regime } } }"));
        assert!(kept("{ ... on QueryRoot { overlap { totals { both } } } }"));
    }

    #[test]
    fn writes_database_reads_and_record_time_are_not() {
        assert!(!kept("mutation { revokeToken(id: \"x\") { id } }"));
        assert!(!kept("{ auditEvents { totalCount } }"));
        assert!(!kept("{ sectors { code } operators { totalCount } }"));
        assert!(!kept("query($t: DateTime) { sectors(knownAt: $t) { code } }"));
        assert!(!kept(
            "{ operator(corporateNumber: \"1\") { designations(knownAt: \"2026-01-01T00:00:00Z\") { regime } } }"
        ));
        assert!(!kept(
            "{ operator(corporateNumber: \"1\") { ...F } } fragment F on Operator { designations(knownAt: \"2026-01-01T00:00:00Z\") { regime } }"
        ));
        assert!(!kept("query A { sectors { code } } query B { tokens { id } }"), "no operation named");
    }
}
