// The crosswalk between CI sectors and ESPA business domains, and what no link covers.

import { $, h, headRow, replace } from './dom.js';
import { filtering, nameOf, pairVisible, state, t, visible } from './state.js';

const RELATION_SYMBOL = { EQUAL: '=', SUBSET_OF: '⊂', SUPERSET_OF: '⊃', INTERSECTS_WITH: '∩' };

export function renderScope() {
  if (!state.scope) return;
  renderCrosswalk();
  renderGaps();
}

/** Look-ups over a scope (the loaded reference data, or a proposal's). */
function scopeIndex(scope) {
  const { sectors, businessDomains, scopeItemCrosswalk, scopeGaps } = scope;
  const items = new Map();
  for (const field of [...sectors, ...businessDomains]) {
    for (const item of field.scopeItems) items.set(item.code, item);
  }
  return {
    domains: new Map(businessDomains.map((d) => [d.code, d])),
    items,
    itemLinks: scopeItemCrosswalk,
    uncovered: new Set([
      ...scopeGaps.sectorScopeItemsWithoutLink.map((i) => i.code),
      ...scopeGaps.domainScopeItemsWithoutLink.map((i) => i.code),
    ]),
    sectorsWithout: new Set(scopeGaps.sectorsWithoutDomain.map((s) => s.code)),
    domainsWithout: new Set(scopeGaps.domainsWithoutSector.map((d) => d.code)),
  };
}

function relationBadge(relation) {
  return h('span', { class: `relation rel-${relation}` }, RELATION_SYMBOL[relation], ' ', t('relationName')[relation]);
}

/**
 * What a proposal does to a record (`mark`: added, retired or changed), as a class, a
 * data attribute and a badge; nothing for the live data, which carries no marks.
 */
function marked(record, attrs) {
  if (!record.mark) return { attrs, badge: null };
  const badge = h('span', { class: `badge mark-badge mark-${record.mark}` }, t('mark')[record.mark]);
  return { attrs: { ...attrs, class: `${attrs.class || ''} mark-${record.mark}`.trim(), dataset: { ...attrs.dataset, mark: record.mark } }, badge };
}

/** A sector or domain, opening onto its scope items and their item-level links. */
function fieldCell(field, regime, index, hasCounterpart) {
  const isCi = regime === 'CI';
  const ministries = field.ministries.map(nameOf).join('、');
  const items = field.scopeItems.map((item) => {
    const links = index.itemLinks.filter((l) => (isCi ? l.sectorItem.code : l.domainItem.code) === item.code);
    const uncovered = index.uncovered.has(item.code);
    const shown = marked(item, { class: uncovered ? 'item uncovered' : 'item', dataset: { item: item.code } });
    return h(
      'li',
      shown.attrs,
      h('span', { class: 'item-name' }, nameOf(item)),
      shown.badge,
      uncovered ? h('span', { class: 'badge uncovered-badge' }, t('uncovered')) : null,
      links.map((link) => {
        const other = index.items.get(isCi ? link.domainItem.code : link.sectorItem.code);
        const linkShown = marked(link, { class: 'item-link', title: link.rationale });
        return h(
          'span',
          linkShown.attrs,
          ' ↔ ',
          relationBadge(link.relation),
          ' ',
          other ? nameOf(other) : (isCi ? link.domainItem.code : link.sectorItem.code),
          linkShown.badge,
        );
      }),
    );
  });
  const attrs = { class: hasCounterpart ? 'field' : 'field no-counterpart', dataset: { [isCi ? 'sector' : 'domain']: field.code } };
  if (!hasCounterpart) attrs.dataset.counterpart = 'none';
  const shown = marked(field, attrs);
  return h(
    'td',
    shown.attrs,
    h(
      'details',
      {},
      h(
        'summary',
        {},
        h('span', { class: 'field-name' }, nameOf(field)),
        h('span', { class: 'code' }, field.code),
        hasCounterpart ? null : h('span', { class: 'badge none-badge' }, t('noCounterpart')),
        shown.badge,
      ),
      h('p', { class: 'ministry' }, `${t('ministry')}：${ministries || t('none')}`),
      h('ul', { class: 'items', 'aria-label': t('scopeItems') }, items),
    ),
  );
}

function relationCell(link) {
  const shown = marked(link, { class: 'relation-cell' });
  return h(
    'td',
    shown.attrs,
    h(
      'details',
      { class: 'why' },
      h(
        'summary',
        { title: link.rationale },
        link.relationBefore ? [h('span', { class: 'before' }, relationBadge(link.relationBefore)), ' → '] : null,
        relationBadge(link.relation),
        shown.badge,
      ),
      h('p', { class: 'meaning' }, t('relationMeaning')[link.relation]),
      h('p', { class: 'rationale' }, link.rationale),
      link.source ? h('p', { class: 'source' }, `${t('source')}：${link.source}`) : null,
    ),
  );
}

const emptyCell = (text) => h('td', { class: 'empty' }, text);

/** A row's marks: the link's, or for a row of one field that field's. */
const rowAttrs = (record, attrs) => (record.mark ? { ...attrs, dataset: { mark: record.mark } } : attrs);

/**
 * Draws `scope` into the table `table` as the crosswalk, as the filter allows: each
 * sector beside its linked domains, then the domains linked to none. A proposal's
 * scope carries the server's marks (see proposals.js), drawn on its rows, fields, items
 * and links. Answers how many rows and links the scope has, shown or not.
 */
export function drawCrosswalk(table, scope) {
  const index = scopeIndex(scope);
  const rows = [];
  const linked = new Set();
  let linkCount = 0;
  let rowCount = 0;
  for (const sector of scope.sectors) {
    const links = sector.links.filter((l) => index.domains.has(l.domain.code));
    linkCount += links.length;
    if (links.length === 0) {
      rowCount += 1;
      if (visible(sector, 'CI')) rows.push(h('tr', rowAttrs(sector, { class: 'no-counterpart' }), fieldCell(sector, 'CI', index, false), emptyCell('—'), emptyCell(t('noDomain'))));
      continue;
    }
    rowCount += links.length;
    for (const link of links) linked.add(link.domain.code);
    const shown = links.filter((link) => pairVisible(sector, index.domains.get(link.domain.code)));
    shown.forEach((link, i) => {
      const domain = index.domains.get(link.domain.code);
      const sectorCell = i === 0 ? fieldCell(sector, 'CI', index, !index.sectorsWithout.has(sector.code)) : null;
      if (sectorCell) sectorCell.rowSpan = shown.length;
      rows.push(h('tr', rowAttrs(link, {}), sectorCell, relationCell(link), fieldCell(domain, 'ESPA', index, !index.domainsWithout.has(domain.code))));
    });
  }
  // A domain a proposal unlinks is drawn beside its ended link and on a row of its own.
  for (const domain of scope.businessDomains.filter((d) => index.domainsWithout.has(d.code) || !linked.has(d.code))) {
    rowCount += 1;
    if (visible(domain, 'ESPA')) rows.push(h('tr', rowAttrs(domain, { class: 'no-counterpart' }), emptyCell(t('noSector')), emptyCell('—'), fieldCell(domain, 'ESPA', index, false)));
  }
  replace(table,
    headRow([t('ci'), t('relation'), t('espa')]),
    h('tbody', {}, rows),
  );
  table.dataset.rows = String(rows.length);
  return { index, linkCount, rowCount, shownRows: rows.length };
}

function renderCrosswalk() {
  const { sectors, businessDomains } = state.scope;
  const table = $('crosswalk');
  const { index, linkCount, rowCount, shownRows } = drawCrosswalk(table, state.scope);
  table.dataset.asOf = state.asOf;
  // The header's counts are the date's, not the regimes' usual 15.
  $('lede').textContent = t('lede', sectors.length, businessDomains.length);
  $('scope-summary').textContent = t('summary', {
    sectors: sectors.length,
    domains: businessDomains.length,
    links: linkCount,
    sectorsWithout: index.sectorsWithout.size,
    domainsWithout: index.domainsWithout.size,
    itemsWithout: index.uncovered.size,
  });
  $('filter-note').textContent = filtering() ? t('filterNote', shownRows, rowCount) : '';
}

function renderGaps() {
  const { sectors, businessDomains, scopeGaps } = state.scope;
  const column = (title, regime, fields, uncoveredItems) => {
    if (state.filter.regime && state.filter.regime !== regime) return null;
    const uncovered = new Set(uncoveredItems.map((i) => i.code));
    const groups = fields
      .filter((field) => visible(field, regime))
      .map((field) => ({ field, items: field.scopeItems.filter((i) => uncovered.has(i.code)) }))
      .filter((g) => g.items.length > 0);
    return h(
      'div',
      { class: 'gap-column', dataset: { regime } },
      h('h3', {}, title),
      groups.length === 0
        ? h('p', {}, t('noneAtDate'))
        : h('ul', {}, groups.map((g) => h('li', {}, h('strong', {}, nameOf(g.field)), '：', g.items.map(nameOf).join('、')))),
    );
  };
  const container = $('scope-gaps');
  replace(container,
    column(t('ciItemsWithout'), 'CI', sectors, scopeGaps.sectorScopeItemsWithoutLink),
    column(t('espaItemsWithout'), 'ESPA', businessDomains, scopeGaps.domainScopeItemsWithoutLink),
  );
  container.dataset.asOf = state.asOf;
}
