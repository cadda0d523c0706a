// What changed between two dates: sectors and domains, their services and sub-businesses,
// the links between them and (with a token) designations, with counts per sector and
// domain. Both dates are ISO text whatever the browser's locale.

import { CHANGED_DESIGNATIONS_QUERY, CHANGES_QUERY, graphql } from './api.js';
import { bar } from './charts.js';
import { $, h, headRow, replace } from './dom.js';
import { isIsoDate, keepInAddress, nameOf, pairVisible, state, t, visible } from './state.js';

/** Refused dates are said next to the form and load nothing. */
function problemWith(from, to) {
  const bad = [from, to].find((date) => !isIsoDate(date));
  if (bad !== undefined) return t('invalidDate', bad);
  return from > to ? t('invalidRange') : null;
}

/** Loads the window the form names (its dates are kept in the address). */
export async function loadChanges(current) {
  const from = $('changes-from').value.trim();
  const to = $('changes-to').value.trim();
  const problem = problemWith(from, to);
  $('changes-problem').textContent = problem || '';
  $('changes-problem').hidden = !problem;
  for (const [input, date] of [[$('changes-from'), from], [$('changes-to'), to]]) {
    input.setAttribute('aria-invalid', String(!isIsoDate(date) || (problem !== null && from > to)));
  }
  if (problem) return;
  keepInAddress({ changesFrom: from, changesTo: to });
  const data = (await graphql(CHANGES_QUERY, { from, to }, false)).changesBetween;
  const designations = state.token
    ? (await graphql(CHANGED_DESIGNATIONS_QUERY, { from, to }, true)).changesBetween.designations
    : null;
  if (!current()) return;
  state.changes = { from, to, data, designations };
  renderChanges();
}

/** The sector (CI) or domain (ESPA) a change object names. */
const fieldOf = (entry) => entry.sector || entry.domain;
const fieldKey = (entry) => `${entry.regime}:${fieldOf(entry).code}`;

function plusMinus(counts) {
  return h('span', { class: 'plus-minus' }, h('span', { class: 'plus' }, `+${counts.started}`), ' ', h('span', { class: 'minus' }, `−${counts.ended}`));
}

export function renderChanges() {
  const container = $('changes');
  const shown = state.changes;
  if (!shown) {
    replace(container);
    return;
  }
  const { data, designations } = shown;
  const fieldVisible = (entry) => visible(fieldOf(entry), entry.regime);
  const fields = data.fields.filter(fieldVisible);
  const items = data.scopeItems.filter(fieldVisible);
  const links = data.links.filter((c) => pairVisible(c.link.sector, c.link.domain));
  const count = (list, kind) => list.filter((c) => c.change === kind).length;

  // Per sector and domain: reference counts and designation counts, merged.
  const none = { started: 0, ended: 0 };
  const rows = new Map();
  for (const entry of data.byField.filter(fieldVisible)) {
    rows.set(fieldKey(entry), { entry, scopeItems: entry.scopeItems, links: entry.links, designations: none });
  }
  for (const entry of (designations ? designations.byField : []).filter(fieldVisible)) {
    const row = rows.get(fieldKey(entry)) || { entry, scopeItems: none, links: none, designations: none };
    rows.set(fieldKey(entry), { ...row, designations: entry.designations });
  }
  const ordered = [...rows.values()].sort((a, b) => (a.entry.regime === b.entry.regime ? 0 : a.entry.regime === 'CI' ? -1 : 1));
  const sum = (row) => ['scopeItems', 'links', 'designations'].reduce((n, k) => n + row[k].started + row[k].ended, 0);
  const max = Math.max(0, ...ordered.map(sum));
  const perField = h(
    'table',
    { class: 'counts', id: 'changes-by-field' },
    h('caption', {}, t('changesByField')),
    headRow([t('field'), t('regime'), t('kindItem'), t('kindLink'), t('designationsCount'), '']),
    h('tbody', {}, ordered.map((row) => h(
      'tr',
      { dataset: { changeField: fieldKey(row.entry), items: `${row.scopeItems.started}/${row.scopeItems.ended}`, links: `${row.links.started}/${row.links.ended}`, designations: `${row.designations.started}/${row.designations.ended}` } },
      h('td', {}, nameOf(fieldOf(row.entry))),
      h('td', {}, row.entry.regime === 'CI' ? t('ciShort') : t('espaShort')),
      h('td', { class: 'num' }, plusMinus(row.scopeItems)),
      h('td', { class: 'num' }, plusMinus(row.links)),
      h('td', { class: 'num' }, designations ? plusMinus(row.designations) : '—'),
      h('td', { class: 'bar-cell' }, bar(sum(row), max)),
    ))),
  );

  const listed = [
    ...fields.map((c) => ({ on: c.on, change: c.change, kind: t('kindField'), what: nameOf(fieldOf(c)), code: fieldOf(c).code })),
    ...items.map((c) => ({ on: c.on, change: c.change, kind: t('kindItem'), what: `${nameOf(fieldOf(c))}：${nameOf(c.scopeItem)}`, code: c.scopeItem.code })),
    ...links.map((c) => ({ on: c.on, change: c.change, kind: t('kindLink'), what: `${nameOf(c.link.sector)} ↔ ${nameOf(c.link.domain)}`, code: `${c.link.sector.code}/${c.link.domain.code}` })),
  ].sort((a, b) => (a.on < b.on ? -1 : a.on > b.on ? 1 : 0));
  const list = listed.length === 0
    ? h('p', {}, t('changesNone'))
    : h(
      'table',
      { class: 'changes-list', id: 'changes-list' },
      h('caption', {}, t('changesList')),
      headRow([t('date'), t('kind'), t('what'), '']),
      h('tbody', {}, listed.map((c) => h(
        'tr',
        { dataset: { change: `${c.change}:${c.code}` } },
        h('td', { class: 'mono' }, c.on),
        h('td', {}, c.kind),
        h('td', {}, c.what),
        h('td', {}, h('span', { class: c.change === 'STARTED' ? 'badge status-active' : 'badge status-ended' }, c.change === 'STARTED' ? t('started') : t('ended'))),
      ))),
    );

  replace(container,
    h('p', { class: 'summary', id: 'changes-summary' }, t('changesSummary', {
      fieldsStarted: count(fields, 'STARTED'),
      fieldsEnded: count(fields, 'ENDED'),
      itemsStarted: count(items, 'STARTED'),
      itemsEnded: count(items, 'ENDED'),
      linksStarted: count(links, 'STARTED'),
      linksEnded: count(links, 'ENDED'),
    })),
    designations
      ? h('p', { class: 'summary', id: 'changes-designations' }, t('changesDesignations', designations.total))
      : h('p', { class: 'notice', id: 'changes-designations' }, t('changesDesignationsNeedToken')),
    ordered.length === 0 ? null : perField,
    list,
  );
  container.dataset.from = shown.from;
  container.dataset.to = shown.to;
}
