//! Two places where async-graphql 7.2 answers differently from the GraphQL specification
//! (and from graphql-js, which generated clients are tested against), put right around
//! its executor:
//!
//! - [`OmittedVariables`]: a variable the request does not provide, declared nullable
//!   and without a default, is handed to resolvers as `null`. The specification
//!   (CoerceArgumentValues, and input object coercion) says the argument or input field
//!   it stands for is then *not provided*: it takes its default value, or stays absent
//!   (so an `updateOperator` field given as an omitted `$nameEn` stays as it is instead of
//!   being cleared). The extension removes such uses from the parsed document before it
//!   is validated, where the variable may stand there (its type fits the position; a
//!   non-null position needs a default of its own), and the variable's now unused
//!   definition with them. Everything else is left for validation to report.
//! - [`SelectedOperation`]: validation computes the complexity of every operation in a
//!   document, with the variables sent for the one that runs, so a document of several
//!   operations (as GraphiQL sends its editor's whole text) is refused when another
//!   operation's required variable feeds a complexity ("Variable numbers is not
//!   defined"), and the operations' costs add up. The extension keeps only the operation
//!   the request names, and the fragments it spreads, before validation.
//! - [`FieldOrder`]: the executor inserts an object's fields into the response in the
//!   order their resolvers finish (a `FuturesUnordered` in
//!   `resolver_utils::container::do_resolve_container`), so the keys of one request come
//!   back in a different order from one run to the next. The specification (§7.2.2, "in
//!   the order in which they appear in the query") wants the order of the selection set.
//!   The extension puts every object of the response back in that order, for queries,
//!   mutations and each message of a subscription.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::{BoxStream, StreamExt};
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    BaseType, Directive, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition,
    OperationType, Selection, SelectionSet, Type,
};
use async_graphql::registry::{MetaInputValue, MetaType, Registry};
use async_graphql::{Name, Positioned, Request, Response, ServerResult, Value, Variables};
use async_graphql_value::Value as InputValue;

/// See the module documentation: omitted variables leave their argument or field out.
pub struct OmittedVariables;

impl ExtensionFactory for OmittedVariables {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OmittedVariables)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OmittedVariables {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let mut document = next.run(ctx, query, variables).await?;
        leave_out_omitted_variables(&mut document, variables, &ctx.schema_env.registry);
        Ok(document)
    }
}

/// See the module documentation: a document of several operations is validated and run
/// as the one operation the request names.
pub struct SelectedOperation;

impl ExtensionFactory for SelectedOperation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SelectedOperationOfRequest::default())
    }
}

#[derive(Default)]
struct SelectedOperationOfRequest {
    operation_name: Mutex<Option<String>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for SelectedOperationOfRequest {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = next.run(ctx, request).await?;
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let mut document = next.run(ctx, query, variables).await?;
        let name = self.operation_name.lock().ok().and_then(|name| name.clone());
        if let Some(name) = name {
            keep_only_operation(&mut document, &name);
        }
        Ok(document)
    }
}

/// Keeps the operation `name` and the fragments it spreads (directly or through other
/// fragments). A document without that operation is left for async-graphql to refuse.
pub fn keep_only_operation(document: &mut ExecutableDocument, name: &str) {
    let DocumentOperations::Multiple(operations) = &mut document.operations else { return };
    if operations.len() < 2 || !operations.contains_key(name) {
        return;
    }
    operations.retain(|operation, _| operation.as_str() == name);
    let mut used: HashSet<Name> = HashSet::new();
    let mut pending: Vec<&SelectionSet> = operations.values().map(|o| &o.node.selection_set.node).collect();
    while let Some(set) = pending.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => pending.push(&field.node.selection_set.node),
                Selection::InlineFragment(fragment) => pending.push(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let fragment_name = &spread.node.fragment_name.node;
                    if used.insert(fragment_name.clone())
                        && let Some(fragment) = document.fragments.get(fragment_name)
                    {
                        pending.push(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
    document.fragments.retain(|fragment, _| used.contains(fragment));
}

/// Removes every use of a variable that `variables` does not provide, whose every
/// definition is nullable without a default, from the arguments and input object fields
/// it stands in, when each such place may take it; then the variable's definitions.
pub fn leave_out_omitted_variables(document: &mut ExecutableDocument, variables: &Variables, registry: &Registry) {
    let mut definitions: HashMap<Name, Vec<Type>> = HashMap::new();
    let mut excluded: HashSet<Name> = HashSet::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            let definition = &definition.node;
            let name = definition.name.node.clone();
            if variables.contains_key(&name) || definition.default_value.is_some() || !definition.var_type.node.nullable
            {
                excluded.insert(name);
            } else {
                definitions.entry(name).or_default().push(definition.var_type.node.clone());
            }
        }
    }
    definitions.retain(|name, _| !excluded.contains(name));
    if definitions.is_empty() {
        return;
    }

    // First every use is checked: a variable is left out only where all its uses can be.
    let mut check = Uses { registry, omitted: &definitions, refused: HashSet::new() };
    for (_, operation) in document.operations.iter() {
        check.operation(&operation.node);
    }
    for fragment in document.fragments.values() {
        check.fragment(&fragment.node);
    }
    let Uses { refused, .. } = check;
    let left_out: HashSet<Name> = definitions.into_keys().filter(|name| !refused.contains(name)).collect();
    if left_out.is_empty() {
        return;
    }

    let operations: Vec<&mut Positioned<OperationDefinition>> = match &mut document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values_mut().collect(),
    };
    for operation in operations {
        operation.node.variable_definitions.retain(|d| !left_out.contains(&d.node.name.node));
        remove_uses(&mut operation.node.selection_set.node, &left_out);
    }
    for fragment in document.fragments.values_mut() {
        remove_uses(&mut fragment.node.selection_set.node, &left_out);
    }
}

/// Walks the document against the schema and refuses each omitted variable that is used
/// anywhere it cannot simply be left out.
struct Uses<'a> {
    registry: &'a Registry,
    omitted: &'a HashMap<Name, Vec<Type>>,
    refused: HashSet<Name>,
}

impl Uses<'_> {
    fn operation(&mut self, operation: &OperationDefinition) {
        let root = match operation.ty {
            OperationType::Query => Some(self.registry.query_type.as_str()),
            OperationType::Mutation => self.registry.mutation_type.as_deref(),
            OperationType::Subscription => self.registry.subscription_type.as_deref(),
        };
        self.directives(&operation.directives);
        self.selection_set(root, &operation.selection_set.node);
    }

    fn fragment(&mut self, fragment: &FragmentDefinition) {
        self.directives(&fragment.directives);
        let on = fragment.type_condition.node.on.node.to_string();
        self.selection_set(Some(&on), &fragment.selection_set.node);
    }

    fn selection_set(&mut self, parent: Option<&str>, set: &SelectionSet) {
        for selection in &set.items {
            self.directives(selection.node.directives());
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let meta = parent
                        .and_then(|parent| self.registry.types.get(parent))
                        .and_then(|ty| ty.field_by_name(&field.name.node));
                    for (name, value) in &field.arguments {
                        let argument = meta.and_then(|meta| meta.args.get(name.node.as_str()));
                        self.value(argument, &value.node);
                    }
                    let child = meta.map(|meta| named_type(&meta.ty).to_owned());
                    self.selection_set(child.as_deref(), &field.selection_set.node);
                }
                Selection::FragmentSpread(_) => {}
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment.type_condition.as_ref().map(|c| c.node.on.node.to_string());
                    self.selection_set(on.as_deref().or(parent), &fragment.selection_set.node);
                }
            }
        }
    }

    /// Variables in directives stay: `@skip` and `@include` take non-null values.
    fn directives(&mut self, directives: &[Positioned<Directive>]) {
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                self.refuse_all_in(&value.node);
            }
        }
    }

    /// `place` is the argument or input field `value` is given for (None when unknown).
    fn value(&mut self, place: Option<&MetaInputValue>, value: &InputValue) {
        match value {
            InputValue::Variable(name) => {
                if let Some(types) = self.omitted.get(name) {
                    let fits = place.is_some_and(|place| {
                        types.iter().all(|ty| may_leave_out(ty, &place.ty, place.default_value.is_some()))
                    });
                    if !fits {
                        self.refused.insert(name.clone());
                    }
                }
            }
            InputValue::Object(fields) => {
                let input_fields = place.and_then(|place| match self.registry.types.get(named_type(&place.ty)) {
                    Some(MetaType::InputObject { input_fields, .. }) => Some(input_fields),
                    _ => None,
                });
                for (name, value) in fields {
                    self.value(input_fields.and_then(|fields| fields.get(name.as_str())), value);
                }
            }
            // In a list an omitted variable is null, as async-graphql already has it.
            InputValue::List(items) => items.iter().for_each(|item| self.refuse_all_in(item)),
            _ => {}
        }
    }

    fn refuse_all_in(&mut self, value: &InputValue) {
        match value {
            InputValue::Variable(name) if self.omitted.contains_key(name) => {
                self.refused.insert(name.clone());
            }
            InputValue::List(items) => items.iter().for_each(|item| self.refuse_all_in(item)),
            InputValue::Object(fields) => fields.values().for_each(|item| self.refuse_all_in(item)),
            _ => {}
        }
    }
}

/// Whether a nullable variable of type `variable` without a default may stand in a place
/// of type `place` (the specification's "All Variable Usages Are Allowed").
fn may_leave_out(variable: &Type, place: &str, place_has_default: bool) -> bool {
    let Some(mut place) = Type::new(place) else { return false };
    if !place.nullable {
        if !place_has_default {
            return false;
        }
        place.nullable = true;
    }
    compatible(variable, &place)
}

fn compatible(variable: &Type, place: &Type) -> bool {
    if !place.nullable && variable.nullable {
        return false;
    }
    match (&variable.base, &place.base) {
        (BaseType::Named(a), BaseType::Named(b)) => a == b,
        (BaseType::List(a), BaseType::List(b)) => compatible(a, b),
        _ => false,
    }
}

/// `[Foo!]!` → `Foo`.
fn named_type(ty: &str) -> &str {
    ty.trim_matches(|c| matches!(c, '[' | ']' | '!'))
}

fn remove_uses(set: &mut SelectionSet, left_out: &HashSet<Name>) {
    for selection in &mut set.items {
        match &mut selection.node {
            Selection::Field(field) => {
                let field = &mut field.node;
                field.arguments.retain(|(_, value)| !is_left_out(&value.node, left_out));
                for (_, value) in &mut field.arguments {
                    remove_from_value(&mut value.node, left_out);
                }
                remove_uses(&mut field.selection_set.node, left_out);
            }
            Selection::FragmentSpread(_) => {}
            Selection::InlineFragment(fragment) => remove_uses(&mut fragment.node.selection_set.node, left_out),
        }
    }
}

fn remove_from_value(value: &mut InputValue, left_out: &HashSet<Name>) {
    if let InputValue::Object(fields) = value {
        fields.retain(|_, value| !is_left_out(value, left_out));
        for value in fields.values_mut() {
            remove_from_value(value, left_out);
        }
    }
}

fn is_left_out(value: &InputValue, left_out: &HashSet<Name>) -> bool {
    matches!(value, InputValue::Variable(name) if left_out.contains(name))
}

/// See the module documentation: response keys in the order of the query.
pub struct FieldOrder;

impl ExtensionFactory for FieldOrder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldOrderOfRequest::default())
    }
}

/// The order of one request, worked out once its document is parsed.
#[derive(Default)]
struct FieldOrderOfRequest {
    operation_name: Mutex<Option<String>>,
    order: Arc<Mutex<Option<Arc<Order>>>>,
}

/// The response keys of one selection set, in order, each with its field's name and the
/// order of its own selection (empty for a leaf).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Order(Vec<(Name, Name, Order)>);

#[async_graphql::async_trait::async_trait]
impl Extension for FieldOrderOfRequest {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = next.run(ctx, request).await?;
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let name = self.operation_name.lock().ok().and_then(|name| name.clone());
        if let Some(order) = Order::of(&document, name.as_deref(), variables)
            && let Ok(mut slot) = self.order.lock()
        {
            *slot = Some(Arc::new(order));
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        put_in_order(&self.order, &mut response);
        if let Some(order) = self.order.lock().ok().and_then(|order| order.clone()) {
            order.hide_unreferenced_scalars(&mut response.data, &ctx.schema_env.registry);
        }
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let order = self.order.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                put_in_order(&order, &mut response);
                response
            })
            .boxed()
    }
}

fn put_in_order(order: &Mutex<Option<Arc<Order>>>, response: &mut Response) {
    let order = order.lock().ok().and_then(|order| order.clone());
    if let Some(order) = order {
        order.apply(&mut response.data);
    }
}

impl Order {
    /// The order of the operation a request named (or its only one), with `@skip` and
    /// `@include` applied as the executor applies them.
    pub fn of(document: &ExecutableDocument, operation_name: Option<&str>, variables: &Variables) -> Option<Self> {
        let operation = match (&document.operations, operation_name) {
            (DocumentOperations::Single(operation), _) => operation,
            (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next()?,
            (DocumentOperations::Multiple(_), None) => return None,
        };
        let collector = Collector { document, variables };
        Some(collector.order(&[&operation.node.selection_set.node]))
    }

    /// Puts the keys of every object in `value` in this order; keys it does not name
    /// (there should be none) follow in the order they had.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.len() > 1 && !self.holds(map.keys()) {
                    let mut rest = std::mem::take(map);
                    let mut ordered = IndexMap::with_capacity(rest.len());
                    for (key, _, _) in &self.0 {
                        if let Some((key, value)) = rest.swap_remove_entry(key.as_str()) {
                            ordered.insert(key, value);
                        }
                    }
                    ordered.extend(rest);
                    *map = ordered;
                }
                for (key, _, order) in &self.0 {
                    if !order.0.is_empty()
                        && let Some(value) = map.get_mut(key.as_str())
                    {
                        order.apply(value);
                    }
                }
            }
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }
}

impl Order {
    /// Leaves the built-in scalars that no field, argument, input field or directive
    /// takes (`Float`) out of `__schema { types }`: async-graphql lists every built-in
    /// scalar, where the specification says one not referenced is not to be listed (and
    /// graphql-js, comparing with the SDL, reports it as a removed type). A type is known
    /// by its `name`, so a selection without `name` is left as it is.
    fn hide_unreferenced_scalars(&self, data: &mut Value, registry: &Registry) {
        let Value::Object(map) = data else { return };
        for (key, _, schema_order) in self.0.iter().filter(|(_, field, _)| field == "__schema") {
            let Some(Value::Object(schema)) = map.get_mut(key.as_str()) else { continue };
            for (types_key, _, types_order) in schema_order.0.iter().filter(|(_, field, _)| field == "types") {
                let Some((name_key, _, _)) = types_order.0.iter().find(|(_, field, _)| field == "name") else {
                    continue;
                };
                let Some(Value::List(types)) = schema.get_mut(types_key.as_str()) else { continue };
                let unreferenced = unreferenced_built_in_scalars(registry);
                types.retain(|ty| match ty {
                    Value::Object(ty) => match ty.get(name_key.as_str()) {
                        Some(Value::String(name)) => !unreferenced.contains(name.as_str()),
                        _ => true,
                    },
                    _ => true,
                });
            }
        }
    }

    /// Whether `keys` already come in this order (most objects do: then nothing moves).
    fn holds<'k>(&self, keys: impl Iterator<Item = &'k Name>) -> bool {
        let mut expected = self.0.iter();
        keys.into_iter().all(|key| expected.any(|(k, _, _)| k == key))
    }
}

/// The built-in scalars that no type of the schema (introspection's own included) nor
/// any directive refers to.
fn unreferenced_built_in_scalars(registry: &Registry) -> HashSet<&'static str> {
    let mut referenced: HashSet<&str> = HashSet::new();
    for ty in registry.types.values() {
        match ty {
            MetaType::Object { fields, .. } | MetaType::Interface { fields, .. } => {
                for field in fields.values() {
                    referenced.insert(named_type(&field.ty));
                    referenced.extend(field.args.values().map(|arg| named_type(&arg.ty)));
                }
            }
            MetaType::InputObject { input_fields, .. } => {
                referenced.extend(input_fields.values().map(|field| named_type(&field.ty)));
            }
            _ => {}
        }
    }
    for directive in registry.directives.values() {
        referenced.extend(directive.args.values().map(|arg| named_type(&arg.ty)));
    }
    ["Int", "Float", "String", "Boolean", "ID"].into_iter().filter(|name| !referenced.contains(name)).collect()
}

/// The specification's CollectFields, without type conditions: the schema has no
/// abstract types, so every fragment of a valid document applies where it is spread.
struct Collector<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
}

impl<'a> Collector<'a> {
    /// The merged order of the selection sets of every field that shares a response key.
    fn order(&self, sets: &[&'a SelectionSet]) -> Order {
        let mut keys: Vec<(Name, Name, Vec<&'a SelectionSet>)> = Vec::new();
        let mut visited = HashSet::new();
        for set in sets {
            self.collect(set, &mut keys, &mut visited);
        }
        Order(keys.into_iter().map(|(key, field, sets)| (key, field, self.order(&sets))).collect())
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        keys: &mut Vec<(Name, Name, Vec<&'a SelectionSet>)>,
        visited: &mut HashSet<&'a str>,
    ) {
        for selection in &set.items {
            if !self.included(selection.node.directives()) {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    let sub = &field.node.selection_set.node;
                    match keys.iter_mut().find(|(k, _, _)| k == key) {
                        Some((_, _, sets)) => sets.push(sub),
                        None => keys.push((key.clone(), field.node.name.node.clone(), vec![sub])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if visited.insert(name)
                        && let Some(fragment) = self.document.fragments.get(name)
                    {
                        self.collect(&fragment.node.selection_set.node, keys, visited);
                    }
                }
                Selection::InlineFragment(fragment) => self.collect(&fragment.node.selection_set.node, keys, visited),
            }
        }
    }

    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        let condition = |directive: &Directive| {
            let value = directive.get_argument("if").map(|value| &value.node);
            match value {
                Some(InputValue::Boolean(b)) => Some(*b),
                Some(InputValue::Variable(name)) => match self.variables.get(name) {
                    Some(Value::Boolean(b)) => Some(*b),
                    _ => None,
                },
                _ => None,
            }
        };
        directives.iter().all(|directive| match directive.node.name.node.as_str() {
            "skip" => condition(&directive.node) != Some(true),
            "include" => condition(&directive.node) != Some(false),
            _ => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_of(query: &str, variables: serde_json::Value) -> Order {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        Order::of(&document, None, &variables).expect("one operation")
    }

    fn keys(value: &Value) -> Vec<String> {
        match value {
            Value::Object(map) => map.keys().map(ToString::to_string).collect(),
            _ => panic!("not an object: {value}"),
        }
    }

    #[test]
    fn objects_take_the_order_of_the_query_fragments_and_aliases_included() {
        let order = order_of(
            "query($no: Boolean!) { b: sectors { code } ...F a { y x } c @skip(if: $no) { z } a { w } }
             fragment F on Query { d e: sectors { nameJa } }",
            serde_json::json!({ "no": true }),
        );
        let mut data = Value::from_json(serde_json::json!({
            "a": { "w": 1, "x": 2, "y": 3 }, "e": [{ "nameJa": "x" }], "d": 1, "b": [{ "code": "c" }]
        }))
        .expect("json");
        order.apply(&mut data);
        assert_eq!(keys(&data), ["b", "d", "e", "a"]);
        let Value::Object(map) = &data else { unreachable!() };
        assert_eq!(keys(&map["a"]), ["y", "x", "w"]);
        let names = |names: &[&str]| names.iter().map(Name::new).collect::<Vec<_>>();
        assert!(order.holds(names(&["b", "e", "a"]).iter()));
        assert!(!order.holds(names(&["e", "b"]).iter()));
        assert!(!order.holds(names(&["b", "z"]).iter()));
    }

    #[test]
    fn a_document_of_several_operations_keeps_the_one_named_and_its_fragments() {
        let mut document = async_graphql::parser::parse_query(
            "query A($n: [String!]!) { operatorStatuses(corporateNumbers: $n) { ...S } }
             query B { sectors { ...T } } fragment S on OperatorStatus { found ...U }
             fragment U on OperatorStatus { corporateNumber } fragment T on Sector { code }",
        )
        .expect("parses");
        keep_only_operation(&mut document, "A");
        let operations: Vec<String> = document.operations.iter().map(|(n, _)| n.expect("named").to_string()).collect();
        assert_eq!(operations, ["A"]);
        let mut fragments: Vec<String> = document.fragments.keys().map(ToString::to_string).collect();
        fragments.sort();
        assert_eq!(fragments, ["S", "U"]);
        // An unknown name leaves the document for async-graphql to refuse.
        keep_only_operation(&mut document, "C");
        assert_eq!(document.operations.iter().count(), 1);
    }

    #[test]
    fn a_field_skipped_first_and_selected_later_takes_its_later_place() {
        let order = order_of("{ a @skip(if: true) b a }", serde_json::json!({}));
        let names: Vec<&str> = order.0.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn an_omitted_variable_may_stand_where_its_type_fits_and_a_non_null_place_has_a_default() {
        let ty = |t: &str| Type::new(t).expect("a type");
        assert!(may_leave_out(&ty("Boolean"), "Boolean", false));
        assert!(may_leave_out(&ty("Boolean"), "Boolean!", true));
        assert!(!may_leave_out(&ty("Boolean"), "Boolean!", false));
        assert!(!may_leave_out(&ty("String"), "Boolean", false));
        assert!(may_leave_out(&ty("[String!]"), "[String!]", false));
        assert!(!may_leave_out(&ty("[String]"), "[String!]", false));
        assert!(!may_leave_out(&ty("String"), "[String]", false));
    }
}
