// The page's GraphQL client and the queries it asks. It talks to this server only.

import { state } from './state.js';

/** The largest page the API serves; used to collect a whole list for its CSV. */
export const MAX_PAGE_SIZE = 500;

const FIELD = 'code nameJa nameEn ministries { code nameJa nameEn } scopeItems { code nameJa nameEn }';
const NAMED = 'code nameJa nameEn';
export const SCOPE_QUERY = `query ScopeMap($asOf: Date) {
  sectors(asOf: $asOf) { ${FIELD} links { domain { code } relation rationale source } }
  businessDomains(asOf: $asOf) { ${FIELD} }
  scopeItemCrosswalk(asOf: $asOf) { sectorItem { code } domainItem { code } relation rationale }
  scopeGaps(asOf: $asOf) { sectorsWithoutDomain { code } domainsWithoutSector { code }
    sectorScopeItemsWithoutLink { code } domainScopeItemsWithoutLink { code } } }`;
export const OVERLAP_QUERY = `query Overlap($asOf: Date) { overlap(asOf: $asOf) { asOf
  totals { both espaOnly ciOnly }
  cells { sector { ${NAMED} } domain { ${NAMED} } operatorCount }
  domainGaps { domain { ${NAMED} } linkedSectors { ${NAMED} } operatorCount } } }`;
const OPERATOR_ROW = `corporateNumber nameJa nameEn
  designations(asOf: $asOf) { regime sector { ${NAMED} } domain { ${NAMED} } }`;
const PAGE = `totalCount edges { node { ${OPERATOR_ROW} } } pageInfo { hasNextPage endCursor }`;
const FILTER_LIST_QUERY = `query Operators($filter: OperatorFilter, $asOf: Date, $first: Int, $after: String) {
  operators(filter: $filter, first: $first, after: $after) { ${PAGE} } }`;
const GAP_LIST_QUERY = `query DomainGap($domain: String, $asOf: Date, $first: Int, $after: String) {
  overlap(asOf: $asOf) { domainGaps(domain: $domain) { operators(first: $first, after: $after) { ${PAGE} } } } }`;
export const OPERATOR_QUERY = `query Operator($cn: String!, $asOf: Date) { operator(corporateNumber: $cn) {
  corporateNumber nameJa nameEn closedOn successorCorporateNumber
  designations(includeHistory: true) { id regime status sector { ${NAMED} } domain { ${NAMED} }
    scopeItem { ${NAMED} } effectiveFrom effectiveTo legalBasis reference ministry { ${NAMED} } revocationReason }
  obligations(asOf: $asOf) { code nameJa nameEn legalBasis inForce inForceFrom } } }`;

export class ApiFailure extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export async function graphql(query, variables, withToken) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (withToken) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw new ApiFailure('NETWORK', error.message);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiFailure('HTTP', `HTTP ${response.status}`);
  }
  if (body.errors && body.errors.length > 0) {
    const first = body.errors[0];
    throw new ApiFailure((first.extensions && first.extensions.code) || 'ERROR', first.message);
  }
  if (!response.ok) throw new ApiFailure('HTTP', `HTTP ${response.status}`);
  return body.data;
}

const EMPTY_PAGE = { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } };

/**
 * One page of an operator list at the page's date: `first` operators after the cursor
 * `after` (null: from the start). A selection is a filter or one domain's gap.
 */
export async function listPage(selection, first, after) {
  const variables = { asOf: state.asOf, first, after };
  if (selection.kind === 'gap') {
    const data = await graphql(GAP_LIST_QUERY, { ...variables, domain: selection.domain.code }, true);
    const gap = data.overlap.domainGaps[0];
    return gap ? gap.operators : EMPTY_PAGE;
  }
  const filter = { ...selection.filter, asOf: state.asOf };
  return (await graphql(FILTER_LIST_QUERY, { ...variables, filter }, true)).operators;
}
