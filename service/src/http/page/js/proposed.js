// A proposal's scope for drawing: the live scope at its date with its changes replayed
// (ScopeChange.input, in order), each record it adds, ends or alters marked `added`,
// `retired` or `changed`. Ended records stay, marked, so that the crosswalk shows what
// goes; the server has checked every change, so nothing is validated here. Gaps are the
// server's (impact.gapsAfter), not recomputed.

/** A scope item's full code: `parent/item`, or a bare `item` under its parent. */
const itemCode = (parent, code) => (code.includes('/') ? code : `${parent}/${code}`);

const fieldsOf = (scope, regime) => (regime === 'CI' ? scope.sectors : scope.businessDomains);
const fieldOf = (scope, regime, code) => fieldsOf(scope, regime).find((f) => f.code === code);
const holds = (record) => record.mark !== 'retired' && record.mark !== 'gone';

/** A record altered, unless the proposal added it. */
function touch(record) {
  if (!record.mark) record.mark = 'changed';
}

/** A record ended; one the proposal itself added would never hold and is left out. */
function retire(record) {
  record.mark = record.mark === 'added' ? 'gone' : 'retired';
}

function ministryOf(scope, code) {
  return scope.ministries.find((m) => m.code === code) || { code, nameJa: code, nameEn: code };
}

/** The scope-item links touching any of `codes` (CI or ESPA side). */
function itemLinksOf(scope, codes) {
  return scope.scopeItemCrosswalk.filter((l) => holds(l) && (codes.has(l.sectorItem.code) || codes.has(l.domainItem.code)));
}

function addField(scope, regime, change) {
  const field = {
    code: change.code,
    nameJa: change.nameJa,
    nameEn: change.nameEn,
    ministries: [ministryOf(scope, change.ministry)],
    scopeItems: (change.scopeItems || []).map((i) => ({ code: itemCode(change.code, i.code), nameJa: i.nameJa, nameEn: i.nameEn, mark: 'added' })),
    mark: 'added',
  };
  if (regime === 'CI') field.links = [];
  fieldsOf(scope, regime).push(field);
}

function retireField(scope, regime, code) {
  const field = fieldOf(scope, regime, code);
  retire(field);
  field.scopeItems.forEach(retire);
  const links = regime === 'CI' ? field.links : scope.sectors.flatMap((s) => s.links.filter((l) => l.domain.code === code));
  links.filter(holds).forEach(retire);
  itemLinksOf(scope, new Set(field.scopeItems.map((i) => i.code))).forEach(retire);
}

/** Sets a link's relation: a new link, or the one holding altered (`relationBefore`). */
function setRelation(links, matches, fresh, change) {
  const current = links.find((l) => holds(l) && matches(l));
  if (!current) {
    links.push({ ...fresh, relation: change.relation, rationale: change.rationale, mark: 'added' });
  } else if (current.relation !== change.relation || current.rationale !== change.rationale) {
    if (!current.mark) current.relationBefore = current.relation;
    touch(current);
    Object.assign(current, { relation: change.relation, rationale: change.rationale, source: null });
  }
}

const APPLY = {
  addSector: (scope, c) => addField(scope, 'CI', c),
  addDomain: (scope, c) => addField(scope, 'ESPA', c),
  retireSector: (scope, c) => retireField(scope, 'CI', c.code),
  retireDomain: (scope, c) => retireField(scope, 'ESPA', c.code),
  addScopeItem: (scope, c) => {
    const field = fieldOf(scope, c.regime, c.parent);
    field.scopeItems.push({ code: itemCode(c.parent, c.code), nameJa: c.nameJa, nameEn: c.nameEn, mark: 'added' });
    touch(field);
  },
  retireScopeItem: (scope, c) => {
    const field = fieldsOf(scope, c.regime).find((f) => f.scopeItems.some((i) => i.code === c.code));
    retire(field.scopeItems.find((i) => i.code === c.code));
    touch(field);
    itemLinksOf(scope, new Set([c.code])).filter((l) => (c.regime === 'CI' ? l.sectorItem : l.domainItem).code === c.code).forEach(retire);
  },
  setLink: (scope, c) => setRelation(fieldOf(scope, 'CI', c.sector).links, (l) => l.domain.code === c.domain, { domain: { code: c.domain } }, c),
  removeLink: (scope, c) => {
    const sector = fieldOf(scope, 'CI', c.sector);
    sector.links.filter((l) => holds(l) && l.domain.code === c.domain).forEach(retire);
    const domainItems = new Set(fieldOf(scope, 'ESPA', c.domain).scopeItems.map((i) => i.code));
    const sectorItems = new Set(sector.scopeItems.map((i) => i.code));
    itemLinksOf(scope, sectorItems).filter((l) => domainItems.has(l.domainItem.code)).forEach(retire);
  },
  setScopeItemLink: (scope, c) => setRelation(
    scope.scopeItemCrosswalk,
    (l) => l.sectorItem.code === c.sectorItem && l.domainItem.code === c.domainItem,
    { sectorItem: { code: c.sectorItem }, domainItem: { code: c.domainItem } },
    c,
  ),
  removeScopeItemLink: (scope, c) => scope.scopeItemCrosswalk
    .filter((l) => holds(l) && l.sectorItem.code === c.sectorItem && l.domainItem.code === c.domainItem)
    .forEach(retire),
  setJurisdiction: (scope, c) => {
    const field = fieldOf(scope, c.regime, c.field);
    if (field.ministries.length === 1 && field.ministries[0].code === c.ministry) return;
    field.ministries = [ministryOf(scope, c.ministry)];
    touch(field);
  },
};

/** Leaves out, at every level, what the proposal added and ended again. */
function prune(scope) {
  const kept = (list) => list.filter((r) => r.mark !== 'gone');
  for (const field of [...scope.sectors, ...scope.businessDomains]) {
    field.scopeItems = kept(field.scopeItems);
    if (field.links) field.links = kept(field.links);
  }
  return { ...scope, sectors: kept(scope.sectors), businessDomains: kept(scope.businessDomains), scopeItemCrosswalk: kept(scope.scopeItemCrosswalk) };
}

/** The scope `live` (SCOPE_QUERY's answer at the proposal's date) with `changes` applied. */
export function proposedScope(live, changes, gapsAfter) {
  const scope = structuredClone(live);
  for (const { kind, input } of changes) APPLY[kind](scope, input[kind]);
  return { ...prune(scope), scopeGaps: gapsAfter };
}
