// The page's GraphQL client and the queries it asks. It talks to this server only.

import { state } from './state.js';

/** The largest page the API serves; used to collect a whole list for its CSV. */
export const MAX_PAGE_SIZE = 500;

const FIELD = 'code nameJa nameEn ministries { code nameJa nameEn } scopeItems { code nameJa nameEn }';
const NAMED = 'code nameJa nameEn';
const GAPS = 'sectorsWithoutDomain { code } domainsWithoutSector { code } sectorScopeItemsWithoutLink { code } domainScopeItemsWithoutLink { code }';
// Every query answers for the page's date and, when one is chosen, as recorded at an
// instant (`$knownAt`; null: now), sent with every request by `graphql`.
export const SCOPE_QUERY = `query ScopeMap($asOf: Date, $knownAt: DateTime) {
  sectors(asOf: $asOf, knownAt: $knownAt) { ${FIELD} links { domain { code } relation rationale source } }
  businessDomains(asOf: $asOf, knownAt: $knownAt) { ${FIELD} }
  scopeItemCrosswalk(asOf: $asOf, knownAt: $knownAt) { sectorItem { code } domainItem { code } relation rationale }
  scopeGaps(asOf: $asOf, knownAt: $knownAt) { ${GAPS} }
  ministries { ${NAMED} } }`;
export const OVERLAP_QUERY = `query Overlap($asOf: Date, $knownAt: DateTime) { overlap(asOf: $asOf, knownAt: $knownAt) { asOf
  totals { both espaOnly ciOnly }
  cells { sector { ${NAMED} } domain { ${NAMED} } operatorCount }
  domainGaps { domain { ${NAMED} } linkedSectors { ${NAMED} } operatorCount }
  obligations { obligation { ${NAMED} legalBasis triggeredBy inForce inForceFrom } operatorCount } } }`;
const OPERATOR_ROW = `corporateNumber nameJa nameEn
  designations(asOf: $asOf) { regime sector { ${NAMED} } domain { ${NAMED} } }`;
const PAGE = `totalCount edges { node { ${OPERATOR_ROW} } } pageInfo { hasNextPage endCursor }`;
const FILTER_LIST_QUERY = `query Operators($filter: OperatorFilter, $asOf: Date, $knownAt: DateTime, $first: Int, $after: String) {
  operators(filter: $filter, first: $first, after: $after, knownAt: $knownAt) { ${PAGE} } }`;
const GAP_LIST_QUERY = `query DomainGap($domain: String, $asOf: Date, $knownAt: DateTime, $first: Int, $after: String) {
  overlap(asOf: $asOf, knownAt: $knownAt) { domainGaps(domain: $domain) { operators(first: $first, after: $after) { ${PAGE} } } } }`;
// A sector or domain in the changes view, with its ministries for the filter.
const CHANGED_FIELD = `${NAMED} ministries { code }`;
export const CHANGES_QUERY = `query Changes($from: Date!, $to: Date!) { changesBetween(from: $from, to: $to) { from to
  fields { regime sector { ${CHANGED_FIELD} } domain { ${CHANGED_FIELD} } change on }
  scopeItems { regime scopeItem { ${NAMED} } sector { ${CHANGED_FIELD} } domain { ${CHANGED_FIELD} } change on }
  links { link { sector { ${CHANGED_FIELD} } domain { ${CHANGED_FIELD} } relation } change on }
  byField { regime sector { ${CHANGED_FIELD} } domain { ${CHANGED_FIELD} } scopeItems { started ended } links { started ended } } } }`;
export const CHANGED_DESIGNATIONS_QUERY = `query ChangedDesignations($from: Date!, $to: Date!) {
  changesBetween(from: $from, to: $to) { designations { total { started ended }
    byField { regime sector { ${CHANGED_FIELD} } domain { ${CHANGED_FIELD} } designations { started ended } } } } }`;
export const OPERATOR_QUERY = `query Operator($cn: String!, $asOf: Date, $knownAt: DateTime) { operator(corporateNumber: $cn, knownAt: $knownAt) {
  corporateNumber nameJa nameEn closedOn successorCorporateNumber
  designations(includeHistory: true) { id regime status sector { ${NAMED} } domain { ${NAMED} }
    scopeItem { ${NAMED} } effectiveFrom effectiveTo legalBasis reference ministry { ${NAMED} } revocationReason }
  obligations(asOf: $asOf) { code nameJa nameEn legalBasis inForce inForceFrom } } }`;

// Scope revision proposals (reader tokens and above). A proposal's impact is computed
// against the live data as it is now, so these are never asked as recorded earlier.
export const PROPOSALS_QUERY = `query Proposals { scopeProposals { id title status effectiveFrom version createdBy } }`;
const TOTALS = 'totals { both espaOnly ciOnly }';
const COVERAGE = `sectors { ${NAMED} } domains { ${NAMED} } sectorScopeItems { ${NAMED} } domainScopeItems { ${NAMED} }`;
// The figures both one proposal's view and the side-by-side comparison show.
const IMPACT_FIGURES = `asOf gapsAfter { ${GAPS} } overlapBefore { ${TOTALS} } overlapAfter { ${TOTALS} }
  endingDesignationCount endingOperatorCount candidates { sector { ${NAMED} } domain { ${NAMED} } side operatorCount }`;
// A proposal's scope at its date as the server marks it (`change`: ADDED, RETIRED or
// CHANGED; null: as live), drawn as its crosswalk.
const MARKED_ITEMS = `change scopeItems { scopeItem { ${NAMED} } change }`;
const PROPOSED_SCOPE = `proposedScope {
  sectors { sector { ${NAMED} ministries { ${NAMED} } } ${MARKED_ITEMS} }
  businessDomains { domain { ${NAMED} ministries { ${NAMED} } } ${MARKED_ITEMS} }
  crosswalk { crosswalkLink { sector { code } domain { code } relation rationale source } change relationBefore }
  scopeItemCrosswalk { scopeItemLink { sectorItem { code } domainItem { code } relation rationale } change relationBefore } }`;
export const PROPOSAL_QUERY = `query Proposal($id: ID!) { scopeProposal(id: $id) {
  id title description status effectiveFrom version createdAt createdBy changes { index kind summary } ${PROPOSED_SCOPE}
  impact { ${IMPACT_FIGURES} gapsBefore { ${GAPS} } newlyCovered { ${COVERAGE} } newlyUncovered { ${COVERAGE} }
    candidates { relation relationBefore change }
    obligationChanges { obligation { ${NAMED} legalBasis } triggeredBy inForce subjectBefore wouldStart wouldStop candidatesWouldStart }
    byMinistry { ministry { ${NAMED} } gainsSectors { ${NAMED} } gainsDomains { ${NAMED} } losesSectors { ${NAMED} }
      losesDomains { ${NAMED} } operatorsGained operatorsLost } } } }`;
const SIDE = 'id title status effectiveFrom version';
export const COMPARE_QUERY = `query Compare($a: ID!, $b: ID!) { compareScopeProposals(a: $a, b: $b) {
  same a { ${SIDE} } b { ${SIDE} } impactA { ${IMPACT_FIGURES} } impactB { ${IMPACT_FIGURES} } differences { kind subject a b } } }`;
const CANDIDATE_LIST_QUERY = `query Candidates($id: ID!, $asOf: Date, $first: Int, $after: String) { scopeProposal(id: $id) {
  impact { candidates { sector { code } domain { code } side operators(first: $first, after: $after) { ${PAGE} } } } } }`;

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
    // A query may ask for `knownAt` itself (null: now).
    const body = JSON.stringify({ query, variables: { knownAt: state.knownAt || null, ...variables } });
    response = await fetch('/graphql', { method: 'POST', headers, body });
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

/** One page of a proposal's candidates for one link and side. */
async function candidatesPage(selection, variables) {
  const data = await graphql(CANDIDATE_LIST_QUERY, { ...variables, id: selection.proposal }, true);
  const group = data.scopeProposal && data.scopeProposal.impact.candidates.find(
    (g) => g.sector.code === selection.sector && g.domain.code === selection.domain && g.side === selection.side,
  );
  return group ? group.operators : EMPTY_PAGE;
}

/**
 * One page of an operator list at the page's date: `first` operators after the cursor
 * `after` (null: from the start). A selection is a filter, one domain's gap or a
 * proposal's candidates for one link.
 */
export async function listPage(selection, first, after) {
  const variables = { asOf: state.asOf, first, after };
  if (selection.kind === 'candidates') return candidatesPage(selection, variables);
  if (selection.kind === 'gap') {
    const data = await graphql(GAP_LIST_QUERY, { ...variables, domain: selection.domain.code }, true);
    const gap = data.overlap.domainGaps[0];
    return gap ? gap.operators : EMPTY_PAGE;
  }
  const filter = { ...selection.filter, asOf: state.asOf };
  return (await graphql(FILTER_LIST_QUERY, { ...variables, filter }, true)).operators;
}
