// What the page shows and for which date and language, and how that is kept in the
// address so that a view can be shared. The token lives in sessionStorage only, so it
// is gone when the tab closes.

import { TEXT } from './text.js';

export const TOKEN_KEY = 'scope-registry.token';
export const LANG_KEY = 'scope-registry.lang';
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

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
  // Bumped on every date change: answers to older requests are dropped.
  generation: 0,
};

export const t = (key, ...args) => {
  const entry = TEXT[state.lang][key];
  return typeof entry === 'function' ? entry(...args) : entry;
};

export const nameOf = (named) => (state.lang === 'en' && named.nameEn ? named.nameEn : named.nameJa);

export function todayInJapan() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** Keeps the date, the record-time instant and the language in the address, so that a view can be shared. */
export function rememberView() {
  const params = new URLSearchParams(location.search);
  params.set('asOf', state.asOf);
  if (state.knownAt) params.set('knownAt', state.knownAt);
  else params.delete('knownAt');
  params.set('lang', state.lang);
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
