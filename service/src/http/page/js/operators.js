// Operator data, which needs a token: the overlap of the two regimes' designations, the
// operator lists its counts open onto, and one operator with its history and duties.

import { OPERATOR_QUERY, OVERLAP_QUERY, graphql, listPage } from './api.js';
import { bar, heatMap, regimeBar } from './charts.js';
import { $, h, headRow, replace, showStatus } from './dom.js';
import { downloadList } from './downloads.js';
import { TOKEN_KEY, filtering, nameOf, pairVisible, scopeField, state, t, visible } from './state.js';

const PAGE_SIZE = 20;

/** A token problem becomes the overlap notice; anything else a status line. */
export function reportFailure(error) {
  if (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') {
    setTokenProblem(error);
  } else if (error.code === 'TOKEN_NEEDED') {
    state.overlapProblem = { kind: 'needed' };
    renderOverlap();
    $('overlap-notice').scrollIntoView({ block: 'center' });
  } else {
    showStatus(t('loadFailed', error.message), true);
  }
}

function setTokenProblem(error) {
  if (error.code === 'UNAUTHENTICATED') {
    // A refused token is useless: forget it so that a reload does not try it again.
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.overlapProblem = { kind: 'refused', message: error.message };
  } else {
    state.overlapProblem = { kind: 'forbidden', message: error.message };
  }
  state.overlap = null;
  state.list = null;
  state.operator = null;
  renderOperatorData();
}

/** Re-draws everything this module shows (after a change of language or token). */
export function renderOperatorData() {
  renderOverlap();
  renderList();
  renderOperator();
}

// ---- loading ----

export async function loadOverlap(current) {
  if (!state.token) {
    state.overlap = null;
    if (!state.overlapProblem || state.overlapProblem.kind !== 'refused') state.overlapProblem = { kind: 'needed' };
    renderOverlap();
    return;
  }
  const data = await graphql(OVERLAP_QUERY, { asOf: state.asOf }, true);
  if (!current()) return;
  state.overlap = data.overlap;
  state.overlapProblem = null;
  renderOverlap();
}

/** Loads the page after the last of `cursors` (null: the first page). */
export async function loadList(selection, cursors, current) {
  const page = await listPage(selection, PAGE_SIZE, cursors[cursors.length - 1]);
  if (!current()) return;
  state.list = { selection, cursors, page };
  renderList();
}

export async function loadOperator(corporateNumber, current) {
  const data = await graphql(OPERATOR_QUERY, { cn: corporateNumber, asOf: state.asOf }, true);
  if (!current()) return;
  state.operator = { corporateNumber, data: data.operator };
  renderOperator();
}

/** Runs a user action's load, reporting a failure instead of throwing. */
export async function act(load) {
  const generation = state.generation;
  try {
    await load(() => generation === state.generation);
  } catch (error) {
    reportFailure(error);
  }
}

export function openList(selection) {
  state.operator = null;
  renderOperator();
  act((current) => loadList(selection, [null], current)).then(() => {
    if (state.list) $('operators-section').scrollIntoView({ block: 'start' });
  });
}

function openOperator(corporateNumber) {
  act((current) => loadOperator(corporateNumber, current)).then(() => {
    if (state.operator) $('operator-section').scrollIntoView({ block: 'start' });
  });
}

// ---- the token ----

export function useToken(event) {
  event.preventDefault();
  const input = $('token-input');
  const token = input.value.trim();
  input.value = '';
  if (!token) {
    state.overlapProblem = { kind: 'empty' };
    renderOverlap();
    return;
  }
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  state.overlapProblem = null;
  act((current) => loadOverlap(current));
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.overlap = null;
  state.overlapProblem = { kind: 'needed' };
  state.list = null;
  state.operator = null;
  renderOperatorData();
}

// ---- the overlap ----

/** A captioned table whose rows are two labels and a count. */
function countTable(id, caption, labels, rows) {
  return h(
    'table',
    { class: 'counts', id },
    h('caption', {}, caption),
    headRow(labels),
    h('tbody', {}, rows.map(([first, second, count]) => h('tr', {}, h('td', {}, first), h('td', {}, second), h('td', { class: 'num' }, count)))),
  );
}

export function countButton(count, onOpen, attrs) {
  if (count === 0) return h('span', { class: 'count zero', ...attrs }, '0');
  return h('button', { type: 'button', class: 'count', onclick: onOpen, ...attrs }, String(count));
}

export function renderOverlap() {
  const hasToken = Boolean(state.token);
  $('token-form').hidden = hasToken;
  $('token-state').hidden = !hasToken;
  const notice = $('overlap-notice');
  const problem = state.overlapProblem;
  notice.hidden = !problem;
  notice.className = problem && problem.kind !== 'needed' ? 'notice error' : 'notice';
  if (problem) {
    notice.dataset.problem = problem.kind;
    notice.textContent =
      problem.kind === 'refused' ? t('tokenRefused', problem.message)
        : problem.kind === 'forbidden' ? t('tokenForbidden', problem.message)
          : problem.kind === 'empty' ? t('tokenEmpty')
            : t('tokenNeeded');
  }
  const container = $('overlap');
  const report = state.overlap;
  if (!report) {
    replace(container);
    delete container.dataset.asOf;
    return;
  }
  const totals = report.totals;
  const openTotal = (key) => openList({ kind: 'filter', filter: TOTAL_FILTERS[key], title: () => t(`list${key[0].toUpperCase()}${key.slice(1)}`) });
  const total = (key, label) =>
    h(
      'div',
      { class: `total total-${key}` },
      h('span', { class: 'total-label' }, label),
      countButton(totals[key], () => openTotal(key), { dataset: { total: key } }),
    );
  const openCell = (cell) => openList({
    kind: 'filter',
    filter: { sector: cell.sector.code, domain: cell.domain.code },
    title: () => t('listCell', nameOf(cell.sector), nameOf(cell.domain)),
  });
  const cellVisible = (cell) => pairVisible(scopeField('CI', cell.sector.code), scopeField('ESPA', cell.domain.code));
  const cells = countTable(
    'overlap-cells',
    t('cellsHeading'),
    [t('ci'), t('espa'), t('operatorsCount')],
    report.cells.filter(cellVisible).map((cell) => [
      nameOf(cell.sector),
      nameOf(cell.domain),
      countButton(cell.operatorCount, () => openCell(cell), { dataset: { cell: `${cell.sector.code}/${cell.domain.code}` } }),
    ]),
  );
  const gapVisible = (gap) => visible(scopeField('ESPA', gap.domain.code), 'ESPA')
    || gap.linkedSectors.some((sector) => visible(scopeField('CI', sector.code), 'CI'));
  const gaps = countTable(
    'overlap-gaps',
    t('gapsTableHeading'),
    [t('espa'), t('linkedSectors'), t('operatorsCount')],
    report.domainGaps.filter(gapVisible).map((gap) => [
      nameOf(gap.domain),
      gap.linkedSectors.length ? gap.linkedSectors.map(nameOf).join('、') : h('span', { class: 'badge none-badge' }, t('noCounterpart')),
      countButton(
        gap.operatorCount,
        () => openList({ kind: 'gap', domain: gap.domain, title: () => t('listGap', nameOf(gap.domain)) }),
        { dataset: { gap: gap.domain.code } },
      ),
    ]),
  );
  const search = h(
    'form',
    {
      class: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        const text = event.target.elements.q.value.trim();
        if (text) openList({ kind: 'filter', filter: { nameContains: text }, title: () => t('listSearch', text) });
      },
    },
    h('label', {}, t('search'), ' ', h('input', { type: 'search', name: 'q', maxlength: '200' })),
    h('button', { type: 'submit' }, t('searchButton')),
  );
  const picture = regimeBar(
    [
      { key: 'ciOnly', label: t('totalCiOnly'), count: totals.ciOnly, onOpen: () => openTotal('ciOnly') },
      { key: 'both', label: t('totalBoth'), count: totals.both, onOpen: () => openTotal('both') },
      { key: 'espaOnly', label: t('totalEspaOnly'), count: totals.espaOnly, onOpen: () => openTotal('espaOnly') },
    ],
    t('ciShort'),
    t('espaShort'),
    t('totalsPicture'),
  );
  replace(container,
    h(
      'div',
      { class: 'totals', id: 'totals' },
      total('both', t('totalBoth')),
      total('espaOnly', t('totalEspaOnly')),
      total('ciOnly', t('totalCiOnly')),
    ),
    h('p', { class: 'summary' }, t('totalAll', totals.both + totals.espaOnly + totals.ciOnly)),
    h('figure', { class: 'chart', id: 'totals-picture' }, picture, h('figcaption', {}, t('totalsPicture'), filtering() ? ` — ${t('totalsFilterNote')}` : '')),
    heatMapFigure(report, openCell),
    dutiesTable(report),
    search,
    h('div', { class: 'count-tables' }, cells, gaps),
  );
  container.dataset.asOf = report.asOf;
}

const TOTAL_FILTERS = {
  both: { regimes: ['CI', 'ESPA'] },
  espaOnly: { regime: 'ESPA', notRegime: 'CI' },
  ciOnly: { regime: 'CI', notRegime: 'ESPA' },
};

/** The crosswalk as a matrix: sectors by domains, each linked pair's operators in both. */
function heatMapFigure(report, openCell) {
  if (!state.scope) return null;
  const counted = new Map(report.cells.map((cell) => [`${cell.sector.code}/${cell.domain.code}`, cell]));
  const linked = [...counted.values()].map((cell) => [scopeField('CI', cell.sector.code), scopeField('ESPA', cell.domain.code)]);
  const shownPairs = linked.filter(([sector, domain]) => pairVisible(sector, domain));
  const rows = state.scope.sectors
    .filter((sector) => visible(sector, 'CI') || shownPairs.some(([s]) => s.code === sector.code))
    .map((sector) => ({ key: sector.code, label: nameOf(sector) }));
  const columns = state.scope.businessDomains
    .filter((domain) => visible(domain, 'ESPA') || shownPairs.some(([, d]) => d.code === domain.code))
    .map((domain) => ({ key: domain.code, label: nameOf(domain) }));
  const chart = heatMap(
    rows,
    columns,
    (row, column) => {
      const cell = counted.get(`${row.key}/${column.key}`);
      if (!cell) return null;
      return {
        count: cell.operatorCount,
        label: t('heatCell', row.label, column.label, cell.operatorCount),
        onOpen: () => openCell(cell),
        dataset: { heatCell: `${row.key}/${column.key}`, count: String(cell.operatorCount) },
      };
    },
    { title: t('heatHeading'), unlinkedLabel: (row, column) => t('heatUnlinked', row.label, column.label) },
  );
  return h(
    'figure',
    { class: 'chart', id: 'heat-map', dataset: { asOf: report.asOf } },
    h('h3', {}, t('heatHeading')),
    h('p', { class: 'hint' }, t('heatHint')),
    h('div', { class: 'scroll' }, chart),
  );
}

/** Operators per duty: those designated under the regime that triggers it. */
function dutiesTable(report) {
  const duties = report.obligations.filter((d) => !state.filter.regime || d.obligation.triggeredBy === state.filter.regime);
  const max = Math.max(0, ...duties.map((d) => d.operatorCount));
  return h(
    'table',
    { class: 'counts duties', id: 'duties' },
    h('caption', {}, t('dutiesHeading')),
    headRow([t('duty'), t('triggeredBy'), t('operatorsCount'), '']),
    h('tbody', {}, duties.map((duty) => {
      const rule = duty.obligation;
      return h(
        'tr',
        { dataset: { duty: rule.code } },
        h('td', {}, h('strong', {}, nameOf(rule)), h('span', { class: 'footnote' }, ` ${rule.legalBasis}`), ' ',
          h('span', { class: rule.inForce ? 'badge status-active' : 'badge status-future' }, rule.inForce ? t('inForce') : t('notInForce', rule.inForceFrom))),
        h('td', {}, rule.triggeredBy === 'CI' ? t('ciShort') : t('espaShort')),
        h('td', { class: 'num', dataset: { count: String(duty.operatorCount) } }, String(duty.operatorCount)),
        h('td', { class: 'bar-cell' }, bar(duty.operatorCount, max, rule.triggeredBy === 'CI' ? 'bar-ci' : 'bar-espa')),
      );
    })),
    h('tfoot', {}, h('tr', {}, h('td', { colspan: '4', class: 'footnote' }, t('dutiesHint')))),
  );
}

// ---- operator lists and one operator ----

function fieldsOf(designations, regime) {
  const names = designations.filter((d) => d.regime === regime).map((d) => nameOf(d.sector || d.domain));
  return [...new Set(names)].join('、');
}

export function renderList() {
  const section = $('operators-section');
  const list = state.list;
  section.hidden = !list;
  if (!list) return;
  const { page, cursors, selection } = list;
  $('operators-heading').textContent = selection.title();
  const first = (cursors.length - 1) * PAGE_SIZE + 1;
  const rows = page.edges.map(({ node }) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, node.corporateNumber),
      h('td', {}, h('button', { type: 'button', class: 'link operator-link', dataset: { cn: node.corporateNumber }, onclick: () => openOperator(node.corporateNumber) }, nameOf(node))),
      h('td', {}, fieldsOf(node.designations, 'CI')),
      h('td', {}, fieldsOf(node.designations, 'ESPA')),
    ));
  const pager = h(
    'div',
    { class: 'pager' },
    h('span', { class: 'range' }, page.totalCount === 0 ? t('noOperators') : t('range', first, first + page.edges.length - 1, page.totalCount)),
    h('button', { type: 'button', dataset: { page: 'previous' }, disabled: cursors.length === 1, onclick: () => act((c) => loadList(selection, cursors.slice(0, -1), c)) }, t('previous')),
    h('button', { type: 'button', dataset: { page: 'next' }, disabled: !page.pageInfo.hasNextPage, onclick: () => act((c) => loadList(selection, [...cursors, page.pageInfo.endCursor], c)) }, t('next')),
    h('button', { type: 'button', class: 'download', disabled: page.totalCount === 0, onclick: () => act(() => downloadList(selection)) }, t('downloadList')),
    h('button', { type: 'button', onclick: () => { state.list = null; state.operator = null; renderList(); renderOperator(); } }, t('close')),
  );
  replace($('operators'),
    h(
      'table',
      { class: 'operators', dataset: { total: String(page.totalCount) } },
      headRow([t('corporateNumber'), t('name'), t('ci'), t('espa')]),
      h('tbody', {}, rows),
    ),
    pager,
  );
}

/** How a designation stands at the page's date (dates compare as ISO text). */
function designationStatus(d) {
  const cancelled = d.effectiveTo === d.effectiveFrom;
  if (d.status === 'REVOKED' && (cancelled || d.effectiveTo <= state.asOf)) return ['revoked', t('statusRevoked')];
  if (d.effectiveFrom > state.asOf) return ['future', t('statusFuture')];
  if (d.effectiveTo !== null && d.effectiveTo <= state.asOf) return ['ended', t('statusEnded')];
  return ['active', t('statusActive')];
}

export function renderOperator() {
  const section = $('operator-section');
  const shown = state.operator;
  section.hidden = !shown;
  if (!shown) return;
  const operator = shown.data;
  if (!operator) {
    replace($('operator'), h('h2', { id: 'operator-heading' }, shown.corporateNumber), h('p', { class: 'notice' }, t('operatorMissing', shown.corporateNumber)));
    return;
  }
  const other = state.lang === 'en' ? operator.nameJa : operator.nameEn;
  const designations = operator.designations.map((d) => {
    const [kind, label] = designationStatus(d);
    return h(
      'tr',
      { class: `designation ${kind}`, dataset: { designation: d.id } },
      h('td', {}, d.regime === 'CI' ? t('ciShort') : t('espaShort')),
      h('td', {}, nameOf(d.sector || d.domain)),
      h('td', {}, d.scopeItem ? nameOf(d.scopeItem) : t('wholeField')),
      h('td', { class: 'mono' }, d.effectiveFrom),
      h('td', { class: 'mono' }, d.effectiveTo || '—'),
      h('td', {}, h('span', { class: `badge status-${kind}` }, label)),
      h('td', {}, nameOf(d.ministry)),
      h('td', {}, d.legalBasis || '—'),
      h('td', {}, d.reference || '—'),
      h('td', {}, d.revocationReason || '—'),
    );
  });
  const obligations = operator.obligations.map((o) =>
    h('li', {}, h('strong', {}, nameOf(o)), `（${o.legalBasis}）`, h('span', { class: o.inForce ? 'badge status-active' : 'badge status-future' }, o.inForce ? t('inForce') : t('notInForce', o.inForceFrom))));
  replace($('operator'),
    h('h2', { id: 'operator-heading' }, nameOf(operator), other ? h('span', { class: 'other-name' }, other) : null),
    h(
      'p',
      { class: 'meta' },
      `${t('corporateNumber')}：`,
      h('span', { class: 'mono', id: 'operator-number' }, operator.corporateNumber),
      operator.closedOn ? ` · ${t('closedOn', operator.closedOn)}` : null,
      operator.successorCorporateNumber ? ` · ${t('successor', operator.successorCorporateNumber)}` : null,
      ' ',
      h('button', { type: 'button', onclick: () => { state.operator = null; renderOperator(); } }, t('close')),
    ),
    h('h3', {}, t('designations')),
    designations.length === 0
      ? h('p', {}, t('noDesignations'))
      : h(
        'table',
        { class: 'designations', id: 'designations' },
        headRow([t('regime'), t('field'), t('scopeItem'), t('from'), t('to'), t('status', state.asOf), t('designatingMinistry'), t('legalBasis'), t('reference'), t('revocationReason')]),
        h('tbody', {}, designations),
      ),
    designations.length === 0 ? null : h('p', { class: 'footnote' }, t('toNote')),
    h('h3', {}, t('obligations', state.asOf)),
    obligations.length === 0 ? h('p', {}, t('noObligations')) : h('ul', { class: 'obligations' }, obligations),
  );
}
