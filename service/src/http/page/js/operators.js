// Operator data, which needs a token: the overlap of the two regimes' designations, the
// operator lists its counts open onto, and one operator with its history and duties.

import { OPERATOR_QUERY, OVERLAP_QUERY, graphql, listPage } from './api.js';
import { $, h, headRow, showStatus } from './dom.js';
import { downloadList } from './downloads.js';
import { TOKEN_KEY, nameOf, state, t } from './state.js';

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

function openList(selection) {
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

function countButton(count, onOpen, attrs) {
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
    container.replaceChildren();
    delete container.dataset.asOf;
    return;
  }
  const totals = report.totals;
  const total = (key, label, filter) =>
    h(
      'div',
      { class: `total total-${key}` },
      h('span', { class: 'total-label' }, label),
      countButton(totals[key], () => openList({ kind: 'filter', filter, title: () => t(`list${key[0].toUpperCase()}${key.slice(1)}`) }), { dataset: { total: key } }),
    );
  const cells = countTable(
    'overlap-cells',
    t('cellsHeading'),
    [t('ci'), t('espa'), t('operatorsCount')],
    report.cells.map((cell) => [
      nameOf(cell.sector),
      nameOf(cell.domain),
      countButton(
        cell.operatorCount,
        () => openList({
          kind: 'filter',
          filter: { sector: cell.sector.code, domain: cell.domain.code },
          title: () => t('listCell', nameOf(cell.sector), nameOf(cell.domain)),
        }),
        { dataset: { cell: `${cell.sector.code}/${cell.domain.code}` } },
      ),
    ]),
  );
  const gaps = countTable(
    'overlap-gaps',
    t('gapsTableHeading'),
    [t('espa'), t('linkedSectors'), t('operatorsCount')],
    report.domainGaps.map((gap) => [
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
  container.replaceChildren(
    h(
      'div',
      { class: 'totals', id: 'totals' },
      total('both', t('totalBoth'), { regimes: ['CI', 'ESPA'] }),
      total('espaOnly', t('totalEspaOnly'), { regime: 'ESPA', notRegime: 'CI' }),
      total('ciOnly', t('totalCiOnly'), { regime: 'CI', notRegime: 'ESPA' }),
    ),
    h('p', { class: 'summary' }, t('totalAll', totals.both + totals.espaOnly + totals.ciOnly)),
    search,
    h('div', { class: 'count-tables' }, cells, gaps),
  );
  container.dataset.asOf = report.asOf;
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
  $('operators').replaceChildren(
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
    $('operator').replaceChildren(h('h2', { id: 'operator-heading' }, shown.corporateNumber), h('p', { class: 'notice' }, t('operatorMissing', shown.corporateNumber)));
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
  $('operator').replaceChildren(
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
