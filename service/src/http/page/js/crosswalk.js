// The crosswalk between CI sectors and ESPA business domains, and what no link covers.

import { $, h, headRow, replace } from './dom.js';
import { filtering, nameOf, pairVisible, state, t, visible } from './state.js';

const RELATION_SYMBOL = { EQUAL: '=', SUBSET_OF: '⊂', SUPERSET_OF: '⊃', INTERSECTS_WITH: '∩' };

export function renderScope() {
  if (!state.scope) return;
  renderCrosswalk();
  renderGaps();
}

/** Look-ups over the loaded reference data. */
function scopeIndex() {
  const { sectors, businessDomains, scopeItemCrosswalk, scopeGaps } = state.scope;
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

/** A sector or domain, opening onto its scope items and their item-level links. */
function fieldCell(field, regime, index, hasCounterpart) {
  const isCi = regime === 'CI';
  const ministries = field.ministries.map(nameOf).join('、');
  const items = field.scopeItems.map((item) => {
    const links = index.itemLinks.filter((l) => (isCi ? l.sectorItem.code : l.domainItem.code) === item.code);
    const uncovered = index.uncovered.has(item.code);
    return h(
      'li',
      { class: uncovered ? 'item uncovered' : 'item', dataset: { item: item.code } },
      h('span', { class: 'item-name' }, nameOf(item)),
      uncovered ? h('span', { class: 'badge uncovered-badge' }, t('uncovered')) : null,
      links.map((link) => {
        const other = index.items.get(isCi ? link.domainItem.code : link.sectorItem.code);
        return h(
          'span',
          { class: 'item-link', title: link.rationale },
          ' ↔ ',
          relationBadge(link.relation),
          ' ',
          other ? nameOf(other) : (isCi ? link.domainItem.code : link.sectorItem.code),
        );
      }),
    );
  });
  const attrs = { class: hasCounterpart ? 'field' : 'field no-counterpart', dataset: { [isCi ? 'sector' : 'domain']: field.code } };
  if (!hasCounterpart) attrs.dataset.counterpart = 'none';
  return h(
    'td',
    attrs,
    h(
      'details',
      {},
      h(
        'summary',
        {},
        h('span', { class: 'field-name' }, nameOf(field)),
        h('span', { class: 'code' }, field.code),
        hasCounterpart ? null : h('span', { class: 'badge none-badge' }, t('noCounterpart')),
      ),
      h('p', { class: 'ministry' }, `${t('ministry')}：${ministries || t('none')}`),
      h('ul', { class: 'items', 'aria-label': t('scopeItems') }, items),
    ),
  );
}

function relationCell(link) {
  return h(
    'td',
    { class: 'relation-cell' },
    h(
      'details',
      { class: 'why' },
      h('summary', { title: link.rationale }, relationBadge(link.relation)),
      h('p', { class: 'meaning' }, t('relationMeaning')[link.relation]),
      h('p', { class: 'rationale' }, link.rationale),
      h('p', { class: 'source' }, `${t('source')}：${link.source}`),
    ),
  );
}

const emptyCell = (text) => h('td', { class: 'empty' }, text);

function renderCrosswalk() {
  const { sectors, businessDomains } = state.scope;
  const index = scopeIndex();
  const rows = [];
  let linkCount = 0;
  let rowCount = 0;
  for (const sector of sectors) {
    const links = sector.links.filter((l) => index.domains.has(l.domain.code));
    linkCount += links.length;
    if (links.length === 0) {
      rowCount += 1;
      if (visible(sector, 'CI')) rows.push(h('tr', { class: 'no-counterpart' }, fieldCell(sector, 'CI', index, false), emptyCell('—'), emptyCell(t('noDomain'))));
      continue;
    }
    rowCount += links.length;
    const shown = links.filter((link) => pairVisible(sector, index.domains.get(link.domain.code)));
    shown.forEach((link, i) => {
      const sectorCell = i === 0 ? fieldCell(sector, 'CI', index, true) : null;
      if (sectorCell) sectorCell.rowSpan = shown.length;
      rows.push(h('tr', {}, sectorCell, relationCell(link), fieldCell(index.domains.get(link.domain.code), 'ESPA', index, true)));
    });
  }
  for (const domain of businessDomains.filter((d) => index.domainsWithout.has(d.code))) {
    rowCount += 1;
    if (visible(domain, 'ESPA')) rows.push(h('tr', { class: 'no-counterpart' }, emptyCell(t('noSector')), emptyCell('—'), fieldCell(domain, 'ESPA', index, false)));
  }
  const table = $('crosswalk');
  replace(table,
    headRow([t('ci'), t('relation'), t('espa')]),
    h('tbody', {}, rows),
  );
  table.dataset.asOf = state.asOf;
  table.dataset.rows = String(rows.length);
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
  $('filter-note').textContent = filtering() ? t('filterNote', rows.length, rowCount) : '';
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
