// What the page shows and for which date and language, and how that is kept in the
// address so that a view can be shared. The token lives in sessionStorage only, so it
// is gone when the tab closes.

import { TEXT } from './text.js';

export const TOKEN_KEY = 'scope-registry.token';
export const LANG_KEY = 'scope-registry.lang';
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
// The range the API accepts.
const EARLIEST_DATE = '1900-01-01';
const LATEST_DATE = '2199-12-31';

/** Whether `text` is a real calendar date written YYYY-MM-DD, in the API's range. */
export function isIsoDate(text) {
  if (!DATE_PATTERN.test(text) || text < EARLIEST_DATE || text > LATEST_DATE) return false;
  const [year, month, day] = text.split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export const state = {
  lang: 'ja',
  asOf: '',
  // The instant the registry is asked about as recorded (`knownAt`, ISO 8601); '': now.
  knownAt: '',
  token: sessionStorage.getItem(TOKEN_KEY),
  scope: null,
  overlap: null,
  overlapProblem: null, // { kind: 'needed' | 'empty' | 'refused' | 'forbidden', message }
  list: null, // { selection, cursors: [after of each page so far], page }
  operator: null, // { corporateNumber, data }
  // Which sectors and domains the views show: '' is any.
  filter: { ministry: '', regime: '' },
  changes: null, // { from, to, data, designations }
  // The proposals view (see proposals.js); the chosen ids are kept in the address.
  proposals: { list: null, chosen: '', compareWith: '', shown: null, comparison: null, requests: 0 },
  // When the data on screen was loaded (for the printout).
  loadedAt: null,
  // Bumped on every date change: answers to older requests are dropped.
  generation: 0,
};

export const t = (key, ...args) => {
  const entry = TEXT[state.lang][key];
  return typeof entry === 'function' ? entry(...args) : entry;
};

export const nameOf = (named) => (state.lang === 'en' && named.nameEn ? named.nameEn : named.nameJa);

export function todayInJapan() {
  return isoInJapan(new Date()).slice(0, 10);
}

/** A moment as "YYYY-MM-DD HH:MM:SS JST", whatever the browser's locale and zone. */
export function isoInJapan(moment) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: 'Asia/Tokyo', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    }).formatToParts(moment).map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} JST`;
}

/** The date `years` years before an ISO date (29 February becomes 28 February). */
export function yearsBefore(date, years) {
  const [year, month, day] = date.split('-').map(Number);
  const earlier = new Date(Date.UTC(year - years, month - 1, Math.min(day, month === 2 ? 28 : day)));
  return earlier.toISOString().slice(0, 10);
}

/** Whether a sector (regime CI) or domain (ESPA) passes the page's filter. */
export function visible(field, regime) {
  const { ministry, regime: only } = state.filter;
  if (only && only !== regime) return false;
  return !ministry || (field.ministries || []).some((m) => m.code === ministry);
}

/** Sets the address's parameters to `values` (an empty value removes its parameter). */
export function keepInAddress(values) {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(values)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

/** Keeps the date, the record-time instant and the language in the address, so that a view can be shared. */
export function rememberView() {
  keepInAddress({
    asOf: state.asOf,
    knownAt: state.knownAt,
    lang: state.lang,
    ministry: state.filter.ministry,
    regime: state.filter.regime,
  });
}

/** A sector (CI) or domain (ESPA) of the loaded date by code, with its ministries. */
export function scopeField(regime, code) {
  const fields = state.scope ? (regime === 'CI' ? state.scope.sectors : state.scope.businessDomains) : [];
  return fields.find((f) => f.code === code) || { code, ministries: [] };
}

/** Whether a sector–domain pair passes the filter: either side does. */
export function pairVisible(sector, domain) {
  return (sector !== null && visible(sector, 'CI')) || (domain !== null && visible(domain, 'ESPA'));
}

/** Whether the filter leaves anything out. */
export const filtering = () => Boolean(state.filter.ministry || state.filter.regime);
