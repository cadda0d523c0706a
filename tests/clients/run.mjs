// The Scope Registry as clients nobody on this project wrote see it, against a running
// server:
//
//   node run.mjs http://127.0.0.1:8080 <admin token>
//
// - graphql-js builds a client schema from a live introspection query, which must equal
//   schema/schema.graphql (no breaking or dangerous change either way, and the same
//   printed schema);
// - the README's example queries and the documents in documents/ validate against it;
// - operations as a generated client sends them (optional variables left out) run
//   without errors, and each answer's keys come in the order of the query;
// - the graphql-ws client connects with the token, subscribes to designationChanged,
//   and receives a designation made over HTTP;
// - Apollo Client's persisted-query link sends a query's hash alone, the query when the
//   server asks for it, and the hash alone again the next time.
//
// Prints one line per check and closes with "N passed, N failed"; exits 1 on a failure.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  GraphQLSchema,
  Kind,
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  getIntrospectionQuery,
  lexicographicSortSchema,
  parse,
  print,
  printSchema,
  specifiedDirectives,
  validate,
  visit,
} from 'graphql';
import { createHash } from 'node:crypto';

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { readmeDocuments } from './readme.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node run.mjs <server address, e.g. http://127.0.0.1:8080> <admin token>');
  process.exit(2);
}
const endpoint = new URL('/graphql', base).toString();
const socketUrl = endpoint.replace(/^http/, 'ws');

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(error?.stack ?? error).replaceAll('\n', '\n  ')}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** POSTs one operation as JSON; the parsed answer (JSON.parse keeps the keys' order). */
async function post(query, variables, operationName, withToken = true) {
  const headers = { 'content-type': 'application/json' };
  if (withToken) headers.authorization = `Bearer ${token}`;
  const response = await fetch(endpoint, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables, operationName }),
  });
  const text = await response.text();
  assert(response.ok, `HTTP ${response.status}: ${text}`);
  return JSON.parse(text);
}

async function data(query, variables, operationName) {
  const answer = await post(query, variables, operationName);
  assert(!answer.errors, `errors: ${JSON.stringify(answer.errors)}`);
  return answer.data;
}

/** The response keys a selection set asks for, in order, fragments expanded. */
function responseKeys(selectionSet, fragments, keys = new Map()) {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (!keys.has(key)) keys.set(key, []);
      if (selection.selectionSet) keys.get(key).push(selection.selectionSet);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      responseKeys(selection.selectionSet, fragments, keys);
    } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      responseKeys(fragments[selection.name.value].selectionSet, fragments, keys);
    }
  }
  return keys;
}

/** Fails unless every object in `value` has its keys in the order `selectionSets` ask. */
function assertQueryOrder(value, selectionSets, fragments, path = 'data') {
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertQueryOrder(item, selectionSets, fragments, `${path}[${i}]`));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const keys = new Map();
  for (const set of selectionSets) responseKeys(set, fragments, keys);
  const expected = [...keys.keys()].filter((key) => key in value);
  const actual = Object.keys(value);
  assert(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${path}: keys ${actual.join(', ')}; the query asks ${expected.join(', ')}`,
  );
  for (const [key, sets] of keys) {
    if (sets.length && key in value) assertQueryOrder(value[key], sets, fragments, `${path}.${key}`);
  }
}

/**
 * One operation of a file in documents/ with the fragments it spreads, as a generated
 * client sends it (one operation per request).
 */
function operationOf(file, operationName) {
  const ast = parse(readFileSync(join(here, 'documents', file), 'utf8'));
  const fragments = Object.fromEntries(
    ast.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const operation = ast.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === operationName);
  assert(operation, `${file} has no operation ${operationName}`);
  const used = new Set();
  const spread = (node) =>
    visit(node, {
      FragmentSpread(s) {
        if (!used.has(s.name.value)) {
          used.add(s.name.value);
          spread(fragments[s.name.value]);
        }
      },
    });
  spread(operation);
  const document = { kind: Kind.DOCUMENT, definitions: [operation, ...[...used].map((name) => fragments[name])] };
  return { source: print(document), operation, fragments };
}

/** Runs one named operation of a file in documents/ and checks its answer's key order. */
async function runInQueryOrder(file, operationName, variables) {
  const { source, operation, fragments } = operationOf(file, operationName);
  const answer = await data(source, variables, operationName);
  assertQueryOrder(answer, [operation.selectionSet], fragments);
  return answer;
}

/** A valid corporate number (check digit as SPEC.md §3 defines it) from a 12-digit base. */
function corporateNumber(base) {
  const digits = [...base].reverse().map(Number);
  const sum = digits.reduce((total, digit, i) => total + digit * (i % 2 === 0 ? 1 : 2), 0);
  return `${9 - (sum % 9)}${base}`;
}

function freshNumber() {
  const random = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
  return corporateNumber(`9998${random}`);
}

function firstDifference(a, b) {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) {
      return `line ${i + 1}:\n    live:       ${left[i]}\n    checked in: ${right[i]}`;
    }
  }
  return 'none';
}

const introspection = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  inputValueDeprecation: true,
  oneOf: true,
});

/**
 * The schema as this comparison reads it: the directives the GraphQL specification
 * defines (@include, @skip, @deprecated, @specifiedBy, @oneOf) are the implementation's,
 * not the API's, so both sides take graphql-js's definitions of them.
 */
function normalised(schema) {
  const config = schema.toConfig();
  const specified = new Set(specifiedDirectives.map((d) => d.name));
  return new GraphQLSchema({
    ...config,
    directives: [...specifiedDirectives, ...config.directives.filter((d) => !specified.has(d.name))],
  });
}

let live;
const checkedIn = normalised(buildSchema(readFileSync(join(root, 'schema', 'schema.graphql'), 'utf8')));

await check('graphql-js builds a client schema from a live introspection query', async () => {
  live = normalised(buildClientSchema(await data(introspection, {}, 'IntrospectionQuery')));
  assert(live.getType('DateTime').specifiedByURL, 'DateTime names its specification (@specifiedBy)');
  const includeHistory = live.getType('Operator').getFields().designations.args.find((a) => a.name === 'includeHistory');
  assert(String(includeHistory.type) === 'Boolean', `includeHistory is ${includeHistory.type}, SPEC.md says Boolean`);
  assert(includeHistory.defaultValue === false, 'includeHistory defaults to false');
});

await check('no breaking or dangerous change between the live schema and schema/schema.graphql', () => {
  const changes = [
    ...findBreakingChanges(live, checkedIn).map((c) => `breaking (live → checked in): ${c.type}: ${c.description}`),
    ...findBreakingChanges(checkedIn, live).map((c) => `breaking (checked in → live): ${c.type}: ${c.description}`),
    ...findDangerousChanges(live, checkedIn).map((c) => `dangerous (live → checked in): ${c.type}: ${c.description}`),
    ...findDangerousChanges(checkedIn, live).map((c) => `dangerous (checked in → live): ${c.type}: ${c.description}`),
  ];
  assert(changes.length === 0, changes.join('\n'));
});

await check('the live schema prints as schema/schema.graphql does (descriptions included)', () => {
  const printedLive = printSchema(lexicographicSortSchema(live));
  const printedCheckedIn = printSchema(lexicographicSortSchema(checkedIn));
  assert(printedLive === printedCheckedIn, `first difference at ${firstDifference(printedLive, printedCheckedIn)}`);
});

await check("the README's example queries validate", () => {
  const documents = readmeDocuments(join(root, 'README.md'));
  assert(documents.length >= 12, `only ${documents.length} documents found in the README`);
  const problems = documents.flatMap(({ name, source }) =>
    validate(live, parse(source)).map((error) => `${name}: ${error.message}\n    ${source.replaceAll('\n', '\n    ')}`),
  );
  assert(problems.length === 0, problems.join('\n'));
});

await check('the documents in documents/ validate', () => {
  const files = readdirSync(join(here, 'documents')).filter((f) => f.endsWith('.graphql'));
  assert(files.length >= 4, `only ${files.length} documents`);
  const problems = files.flatMap((file) =>
    validate(live, parse(readFileSync(join(here, 'documents', file), 'utf8'))).map((e) => `${file}: ${e.message}`),
  );
  assert(problems.length === 0, problems.join('\n'));
});

const number = freshNumber();
let designationId;

await check('mutations as a ministry tool sends them, optional variables left out', async () => {
  const registered = await runInQueryOrder('ministry.graphql', 'RegisterOperator', {
    input: { corporateNumber: number, nameJa: '（架空）クライアント試験株式会社', nameEn: 'Client test K.K.' },
  });
  assert(registered.registerOperator.corporateNumber === number, JSON.stringify(registered));
  const ended = await runInQueryOrder('ministry.graphql', 'Designate', {
    input: { corporateNumber: number, regime: 'CI', sector: 'gas', effectiveFrom: '2019-04-01' },
  });
  await runInQueryOrder('ministry.graphql', 'RevokeDesignation', {
    input: { id: ended.designate.id, effectiveTo: '2020-04-01', reason: 'client test' },
  });
  // `dryRun` left out: the import writes (and registers nobody new: the row is known).
  const csv =
    'corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n' +
    `${number},（架空）クライアント試験株式会社,Client test K.K.,,,,,,,\n`;
  const imported = await runInQueryOrder('ministry.graphql', 'ImportDesignations', { csv });
  assert(imported.importDesignations.dryRun === false, JSON.stringify(imported));
});

await check('queries as a generated client sends them, optional variables left out, answer in query order', async () => {
  const operator = await runInQueryOrder('status-mirror.graphql', 'Operator', { corporateNumber: number });
  assert(operator.operator.designations.length === 0, 'includeHistory left out: only what holds today');
  const history = await runInQueryOrder('status-mirror.graphql', 'Operator', {
    corporateNumber: number,
    includeHistory: true,
  });
  assert(history.operator.designations.length === 1, 'with includeHistory: the revoked one too');
  await runInQueryOrder('status-mirror.graphql', 'OperatorStatuses', { numbers: [number, '7000012050003'] });
  await runInQueryOrder('status-mirror.graphql', 'Operators', {});
  await runInQueryOrder('policy.graphql', 'Scope', {});
  await runInQueryOrder('policy.graphql', 'Overlap', { first: 2 });
});

await check('graphql-ws: a subscriber with the token receives a designation made over HTTP', async () => {
  const client = createClient({
    url: socketUrl,
    webSocketImpl: WebSocket,
    connectionParams: { token },
    retryAttempts: 0,
    lazy: true,
  });
  try {
    const events = await data('query($n: String!) { operator(corporateNumber: $n) { history { id } } }', { n: number });
    const after = events.operator.history.at(-1).id;
    const { source, operation: subscription } = operationOf('subscriptions.graphql', 'DesignationChanged');
    const received = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 20 s')), 20_000);
      const stop = client.subscribe(
        {
          query: source,
          operationName: 'DesignationChanged',
          variables: { filter: { corporateNumbers: [number] }, after },
        },
        {
          next: (message) => {
            clearTimeout(timer);
            stop();
            resolve(message);
          },
          error: (error) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
          },
          complete: () => {},
        },
      );
    });
    const made = await data(
      operationOf('ministry.graphql', 'Designate').source,
      { input: { corporateNumber: number, regime: 'ESPA', domain: 'electricity', effectiveFrom: '2024-05-17' } },
      'Designate',
    );
    designationId = made.designate.id;
    const message = await received;
    assert(!message.errors, JSON.stringify(message.errors));
    const change = message.data.designationChanged;
    assert(change.designation.id === designationId, `got ${JSON.stringify(change)}`);
    assert(change.action === 'DESIGNATE' && change.status.corporateNumber === number, JSON.stringify(change));
    assert(change.status.espaDomains.some((d) => d.code === 'electricity'), JSON.stringify(change));
    assertQueryOrder(message.data, [subscription.selectionSet], {});
  } finally {
    await client.dispose();
  }
});

await check('graphql-ws: an unknown token is refused when the connection opens', async () => {
  const client = createClient({
    url: socketUrl,
    webSocketImpl: WebSocket,
    connectionParams: { token: 'sr_not-a-token' },
    retryAttempts: 0,
  });
  try {
    const outcome = await new Promise((resolve) => {
      client.on('closed', (event) => resolve(event));
      client.subscribe(
        { query: 'subscription { referenceDataChanged { eventId } }' },
        { next: () => resolve('message'), error: (e) => resolve(e), complete: () => resolve('complete') },
      );
    });
    assert(outcome?.code === 1002 || outcome?.code === 4403 || outcome?.code === 4401, `closed with ${outcome?.code ?? outcome}`);
  } finally {
    await client.dispose();
  }
});

await check("Apollo Client's automatic persisted queries: the hash alone, the query once when asked", async () => {
  const sent = [];
  const recordingFetch = (url, init) => {
    const body = JSON.parse(init.body);
    sent.push({ hash: body.extensions?.persistedQuery?.sha256Hash ?? null, query: Boolean(body.query) });
    return fetch(url, init);
  };
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  const client = new ApolloClient({
    link: createPersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: endpoint, fetch: recordingFetch })),
    cache: new InMemoryCache(),
  });
  // A document of this run's own, so that no earlier run has registered it.
  const query = gql`query PersistedSectors${Date.now()} { sectors { code nameEn } }`;
  for (const round of [1, 2]) {
    const result = await client.query({ query, fetchPolicy: 'no-cache' });
    assert(result.data.sectors.length === 15, `round ${round}: ${JSON.stringify(result.data)}`);
  }
  const shape = sent.map((request) => `${request.hash ? 'hash' : 'no hash'}${request.query ? '+query' : ''}`);
  assert(JSON.stringify(shape) === JSON.stringify(['hash', 'hash+query', 'hash']), `requests sent: ${shape}`);
  assert(new Set(sent.map((request) => request.hash)).size === 1, 'one hash throughout');
  client.stop();
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
