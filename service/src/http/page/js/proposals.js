// Scope revision proposals (needs a reader token or above): the list, one proposal's
// crosswalk with what it adds, ends and alters marked, its impact in numbers (each
// link's candidates open the operator list) and two proposals side by side. The chosen
// proposal and the one it is compared with are kept in the address.

import { COMPARE_QUERY, PROPOSALS_QUERY, PROPOSAL_QUERY, graphql } from './api.js';
import { drawCrosswalk } from './crosswalk.js';
import { $, h, headRow, replace } from './dom.js';
import { act, countButton, openList } from './operators.js';
import { keepInAddress, nameOf, state, t } from './state.js';

/** The chosen ids asked for in the address. */
export function proposalsFromAddress(params) {
  state.proposals.chosen = params.get('proposal') || '';
  state.proposals.compareWith = params.get('compare') || '';
}

// ---- loading ----

/**
 * Runs a load of this view, reporting a failure. An answer to an older request of this
 * view is dropped; the page's date, which these answers do not depend on, does not count.
 */
function run(load) {
  const request = ++state.proposals.requests;
  return act(() => load(() => request === state.proposals.requests));
}

/** (Re)loads the view: after the page opens and whenever the token changes. */
export const refreshProposals = () => run(loadProposals);

/** Loads the list, then the chosen proposal and the comparison the address names. */
async function loadProposals(current) {
  const view = state.proposals;
  if (!state.token) {
    Object.assign(view, { list: null, shown: null, comparison: null });
    renderProposals();
    return;
  }
  const list = (await graphql(PROPOSALS_QUERY, {}, true)).scopeProposals;
  if (!current()) return;
  view.list = list;
  renderProposals();
  if (view.chosen) await loadProposal(current);
  if (view.chosen && view.compareWith) await loadComparison(current);
}

/**
 * The server's `proposedScope` in the shape `drawCrosswalk` draws: each record with its
 * `mark` (added, retired or changed), a sector with its links, a changed link with its
 * `relationBefore`; the gaps are the impact's. Nothing here decides a mark.
 */
function drawable(proposed, gapsAfter) {
  const mark = (marked) => (marked.change ? marked.change.toLowerCase() : null);
  const field = (marked, record) => ({
    ...record,
    mark: mark(marked),
    scopeItems: marked.scopeItems.map((i) => ({ ...i.scopeItem, mark: mark(i) })),
  });
  const link = (marked, record) => ({ ...record, mark: mark(marked), relationBefore: marked.relationBefore });
  const links = proposed.crosswalk.map((l) => link(l, l.crosswalkLink));
  return {
    sectors: proposed.sectors.map((s) => ({ ...field(s, s.sector), links: links.filter((l) => l.sector.code === s.sector.code) })),
    businessDomains: proposed.businessDomains.map((d) => field(d, d.domain)),
    scopeItemCrosswalk: proposed.scopeItemCrosswalk.map((l) => link(l, l.scopeItemLink)),
    scopeGaps: gapsAfter,
  };
}

async function loadProposal(current) {
  const { chosen } = state.proposals;
  const proposal = (await graphql(PROPOSAL_QUERY, { id: chosen }, true)).scopeProposal;
  if (!current()) return;
  state.proposals.shown = proposal
    ? { proposal, scope: drawable(proposal.proposedScope, proposal.impact.gapsAfter) }
    : { proposal: null, id: chosen };
  renderProposals();
}

async function loadComparison(current) {
  const { chosen, compareWith } = state.proposals;
  const comparison = (await graphql(COMPARE_QUERY, { a: chosen, b: compareWith }, true)).compareScopeProposals;
  if (!current()) return;
  state.proposals.comparison = comparison;
  renderProposals();
}

/** Shows the proposal `chosen` (kept when already loaded) and, when given, its comparison with `compareWith`. */
function choose(chosen, compareWith) {
  const { shown } = state.proposals;
  const kept = Boolean(shown && shown.proposal && shown.proposal.id === chosen);
  Object.assign(state.proposals, { chosen, compareWith, comparison: null, shown: kept ? shown : null });
  keepInAddress({ proposal: chosen, compare: compareWith });
  renderProposals();
  run(async (current) => {
    if (!kept) await loadProposal(current);
    if (compareWith) await loadComparison(current);
    $(compareWith ? 'proposal-compare' : 'proposal').scrollIntoView({ block: 'start' });
  });
}

// ---- drawing ----

/** Re-draws the whole view from what is loaded. */
export function renderProposals() {
  // Without a token (none yet, forgotten or refused) nothing loaded earlier is shown.
  const { list, shown, comparison } = state.token ? state.proposals : {};
  $('proposals-notice').hidden = Boolean(state.token);
  replace($('proposals-list'), list ? proposalList(list) : null);
  replace($('proposal'), shown ? proposalView(shown) : null);
  replace($('proposal-compare'), comparison ? comparisonView(comparison) : null);
}

/** A table of counts: a caption (or none), the column labels and the rows (elements). */
const countsTable = (id, caption, labels, rows) => h(
  'table',
  { class: 'counts', id },
  caption ? h('caption', {}, caption) : null,
  headRow(labels),
  h('tbody', {}, rows),
);

const numCell = (value, extra) => h('td', { class: extra ? `num ${extra}` : 'num' }, value === null ? '—' : String(value));
const regimeName = (regime) => (regime === 'CI' ? t('ciShort') : t('espaShort'));
const totalName = (key) => t(`total${key[0].toUpperCase()}${key.slice(1)}`);

const statusBadge = (status) => h('span', { class: `badge proposal-${status}` }, t('proposalStatus')[status]);

function proposalList(list) {
  if (list.length === 0) return h('p', {}, t('proposalsNone'));
  const { chosen, compareWith } = state.proposals;
  const rows = list.map((p) => h(
    'tr',
    { class: p.id === chosen ? 'chosen' : null, dataset: { proposal: p.id } },
    h('td', {}, h('button', { type: 'button', class: 'link proposal-link', onclick: () => choose(p.id, '') }, p.title)),
    h('td', {}, statusBadge(p.status)),
    h('td', { class: 'mono' }, p.effectiveFrom),
    h('td', { class: 'num' }, String(p.version)),
    h('td', { class: 'mono' }, p.createdBy),
    h('td', {}, chosen && p.id !== chosen
      ? h('button', { type: 'button', class: 'compare-link', 'aria-pressed': String(p.id === compareWith), onclick: () => choose(chosen, p.id) }, t('proposalCompare'))
      : null),
  ));
  return h(
    'table',
    { class: 'proposals', id: 'proposals-table' },
    headRow([t('proposalTitle'), t('proposalState'), t('effectiveFrom'), t('proposalVersion'), t('createdBy'), '']),
    h('tbody', {}, rows),
  );
}

function proposalView(shown) {
  const { proposal, scope } = shown;
  if (!proposal) return h('p', { class: 'notice' }, t('proposalMissing', shown.id));
  const table = h('table', { class: 'crosswalk', id: 'proposal-crosswalk' });
  drawCrosswalk(table, scope);
  table.dataset.proposal = proposal.id;
  const { impact } = proposal;
  return h(
    'div',
    { dataset: { proposal: proposal.id } },
    h('h3', { id: 'proposal-title' }, proposal.title, ' ', statusBadge(proposal.status)),
    h('p', { class: 'meta' }, t('proposalMeta', proposal.effectiveFrom, proposal.version, proposal.createdBy)),
    proposal.description ? h('p', {}, proposal.description) : null,
    h('ol', { class: 'proposal-changes', id: 'proposal-changes' }, proposal.changes.map((c) => h('li', { class: 'mono', dataset: { kind: c.kind } }, c.summary))),
    h('h3', {}, t('proposalCrosswalk', proposal.effectiveFrom)),
    h('p', { class: 'hint' }, t('proposalCrosswalkHint')),
    table,
    h('div', { class: 'count-tables', id: 'proposal-impact', dataset: { asOf: impact.asOf } },
      gapsTable(impact),
      overlapTable(impact),
      coverageList('proposal-closed', t('gapsClosed'), impact.newlyCovered),
      coverageList('proposal-opened', t('gapsOpened'), impact.newlyUncovered)),
    candidatesTable(proposal),
    h('p', { class: 'summary', id: 'proposal-ending', dataset: { count: String(impact.endingDesignationCount), operators: String(impact.endingOperatorCount) } },
      t('endingDesignations', impact.endingDesignationCount, impact.endingOperatorCount)),
    h('div', { class: 'count-tables' }, obligationsTable(impact), ministriesTable(impact)),
  );
}

// The gap figures, by the field of ScopeGaps they count.
const GAP_FIGURES = ['sectorsWithoutDomain', 'domainsWithoutSector', 'sectorScopeItemsWithoutLink', 'domainScopeItemsWithoutLink'];
const TOTAL_FIGURES = ['both', 'espaOnly', 'ciOnly'];

/** A table of figures before → after, one row per key with its data attribute. */
function beforeAfter(id, caption, rows) {
  return countsTable(id, caption, ['', t('before'), t('after')], rows.map(({ key, label, before, after }) => h(
    'tr',
    { class: before === after ? null : 'differs', dataset: { figure: key, before: String(before), after: String(after) } },
    h('td', {}, label),
    numCell(before, 'before'),
    numCell(`→ ${after}`, 'after'),
  )));
}

function gapsTable(impact) {
  return beforeAfter('proposal-gaps', t('proposalGaps'), GAP_FIGURES.map((key) => ({
    key, label: t('gapFigure')[key], before: impact.gapsBefore[key].length, after: impact.gapsAfter[key].length,
  })));
}

function overlapTable(impact) {
  return beforeAfter('proposal-overlap', t('proposalOverlap'), TOTAL_FIGURES.map((key) => ({
    key, label: totalName(key), before: impact.overlapBefore.totals[key], after: impact.overlapAfter.totals[key],
  })));
}

/** Sectors, domains and scope items a proposal covers (gaps closed) or uncovers. */
function coverageList(id, caption, coverage) {
  const entries = [
    ...coverage.sectors.map((f) => [f, regimeName('CI')]),
    ...coverage.domains.map((f) => [f, regimeName('ESPA')]),
    ...coverage.sectorScopeItems.map((f) => [f, regimeName('CI')]),
    ...coverage.domainScopeItems.map((f) => [f, regimeName('ESPA')]),
  ];
  return h(
    'div',
    { id },
    h('h4', {}, caption),
    entries.length === 0
      ? h('p', {}, t('none'))
      : h('ul', {}, entries.map(([field, regime]) => h('li', { dataset: { code: field.code } }, `${regime}：${nameOf(field)}`, h('span', { class: 'code' }, field.code)))),
  );
}

function candidatesTable(proposal) {
  const groups = proposal.impact.candidates;
  const open = (g) => openList({
    kind: 'candidates',
    proposal: proposal.id,
    sector: g.sector.code,
    domain: g.domain.code,
    side: g.side,
    title: () => t('listCandidates', nameOf(g.sector), nameOf(g.domain), regimeName(g.side)),
  });
  if (groups.length === 0) return h('p', { id: 'proposal-candidates' }, `${t('candidatesHeading')}：${t('none')}`);
  const labels = [t('ci'), t('espa'), t('relation'), t('candidatesSide'), t('operatorsCount')];
  return countsTable('proposal-candidates', t('candidatesHeading'), labels, groups.map((g) => h(
    'tr',
    {},
    h('td', {}, nameOf(g.sector)),
    h('td', {}, nameOf(g.domain)),
    h('td', {}, t('linkChange', g.change, g.relationBefore, g.relation)),
    h('td', {}, regimeName(g.side)),
    h('td', { class: 'num' }, countButton(g.operatorCount, () => open(g), { dataset: { candidates: `${g.sector.code}/${g.domain.code}/${g.side}` } })),
  )));
}

function obligationsTable(impact) {
  const labels = [t('duty'), t('subjectBefore'), t('wouldStart'), t('wouldStop'), t('candidatesWouldStart')];
  return countsTable('proposal-obligations', t('proposalObligations'), labels, impact.obligationChanges.map((o) => h(
    'tr',
    { dataset: { obligation: o.obligation.code } },
    h('td', {}, h('strong', {}, nameOf(o.obligation)), h('span', { class: 'footnote' }, ` ${o.obligation.legalBasis}`)),
    [o.subjectBefore, o.wouldStart, o.wouldStop, o.candidatesWouldStart].map((n) => numCell(n)),
  )));
}

function ministriesTable(impact) {
  const fields = (sectors, domains) => [...sectors, ...domains].map(nameOf).join('、') || '—';
  const labels = [t('ministry'), t('gains'), t('loses'), t('operatorsGained'), t('operatorsLost')];
  return countsTable('proposal-ministries', t('proposalMinistries'), labels, impact.byMinistry.map((m) => h(
    'tr',
    { dataset: { ministry: m.ministry.code } },
    h('td', {}, nameOf(m.ministry)),
    h('td', { class: 'gains' }, fields(m.gainsSectors, m.gainsDomains)),
    h('td', { class: 'loses' }, fields(m.losesSectors, m.losesDomains)),
    numCell(m.operatorsGained),
    numCell(m.operatorsLost),
  )));
}

/** The figures two impacts are compared by, each a key, a label and a value. */
function figures(impact) {
  return [
    { key: 'asOf', label: t('effectiveFrom'), value: impact.asOf },
    ...GAP_FIGURES.map((key) => ({ key, label: t('gapFigure')[key], value: impact.gapsAfter[key].length })),
    ...TOTAL_FIGURES.map((key) => ({ key, label: `${t('proposalOverlap')}：${totalName(key)}`, value: impact.overlapAfter.totals[key] })),
    { key: 'candidates', label: t('candidatesHeading'), value: impact.candidates.reduce((n, g) => n + g.operatorCount, 0) },
    { key: 'ending', label: t('endingHeading'), value: impact.endingDesignationCount },
  ];
}

function comparisonView(comparison) {
  const a = figures(comparison.impactA);
  const b = figures(comparison.impactB);
  return h(
    'div',
    { dataset: { a: comparison.a.id, b: comparison.b.id, same: String(comparison.same) } },
    h('h3', {}, t('compareHeading', comparison.a.title, comparison.b.title)),
    countsTable('compare-figures', null, ['', comparison.a.title, comparison.b.title], a.map((figure, i) => h(
      'tr',
      { class: figure.value === b[i].value ? null : 'differs', dataset: { figure: figure.key } },
      h('td', {}, figure.label),
      numCell(figure.value, 'a'),
      numCell(b[i].value, 'b'),
    ))),
    comparison.same
      ? h('p', { class: 'summary', id: 'compare-same' }, t('compareSame'))
      : countsTable('compare-differences', t('compareDifferences', comparison.differences.length), [t('kind'), t('what'), comparison.a.title, comparison.b.title], comparison.differences.map((d) => h(
        'tr',
        { dataset: { difference: `${d.kind}:${d.subject}` } },
        h('td', {}, t('differenceKind')[d.kind] || d.kind),
        h('td', { class: 'mono' }, d.subject),
        numCell(d.a, 'a'),
        numCell(d.b, 'b'),
      ))),
  );
}
