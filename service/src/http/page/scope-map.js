// The scope map: reads the public GraphQL API of the server that served it and draws the
// crosswalk, the gaps, the changes between two dates and (with a token) the overlap of
// designated operators. Read-only. This module wires the controls and loads what the
// date asks for; the views are in js/.

import { SCOPE_QUERY, graphql } from './js/api.js';
import { loadChanges, renderChanges } from './js/changes.js';
import { renderScope } from './js/crosswalk.js';
import { $, showStatus } from './js/dom.js';
import { downloadExport } from './js/downloads.js';
import { filterFromAddress, renderFilters } from './js/filters.js';
import { act, forgetToken, loadList, loadOperator, loadOverlap, renderOperatorData, reportFailure, useToken } from './js/operators.js';
import { proposalsFromAddress, refreshProposals, renderProposals } from './js/proposals.js';
import { LANG_KEY, isIsoDate, isoInJapan, rememberView, state, t, todayInJapan, yearsBefore } from './js/state.js';

/** Every view, drawn again from what is loaded (after a change of language or filter). */
function renderAll() {
  renderFilters(renderAll);
  renderScope();
  renderOperatorData();
  renderChanges();
  renderProposals();
  renderPrintStamp();
}

/** The line every printed page carries: the date, the source and when it was loaded. */
function renderPrintStamp() {
  const loaded = state.loadedAt ? isoInJapan(state.loadedAt) : '—';
  $('print-stamp').textContent = t('printStamp', state.asOf, t('printSource', location.origin), loaded);
  $('print-stamp').dataset.asOf = state.asOf;
}

async function loadAll() {
  const generation = ++state.generation;
  const current = () => generation === state.generation;
  showStatus(t('loading'));
  const scope = graphql(SCOPE_QUERY, { asOf: state.asOf }, false)
    .then((data) => {
      if (!current()) return;
      state.scope = data;
      renderFilters(renderAll);
      renderScope();
      // The heat map and the filter of operator counts need the date's sectors and domains.
      renderOperatorData();
    });
  const tasks = [scope, loadOverlap(current)];
  // An open list starts again from its first page: the date changes who is in it.
  if (state.list) tasks.push(loadList(state.list.selection, [null], current));
  if (state.operator) tasks.push(loadOperator(state.operator.corporateNumber, current));
  try {
    await Promise.all(tasks);
    if (!current()) return;
    state.loadedAt = new Date();
    renderPrintStamp();
    showStatus('');
  } catch (error) {
    if (current()) reportFailure(error);
  }
}

function setDate(date) {
  const input = $('as-of');
  if (!isIsoDate(date)) {
    input.setAttribute('aria-invalid', 'true');
    showStatus(t('invalidDate', date), true);
    return;
  }
  input.setAttribute('aria-invalid', 'false');
  state.asOf = date;
  input.value = date;
  rememberView();
  loadAll();
}

/** An ISO instant as a `datetime-local` value (this browser's local time). */
function localValue(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

/** Answers as recorded at the instant typed (local time; empty: now). */
function setKnownAt(value) {
  const instant = value ? new Date(value) : null;
  if (instant && Number.isNaN(instant.getTime())) {
    showStatus(t('invalidInstant'), true);
    return;
  }
  state.knownAt = instant ? instant.toISOString() : '';
  rememberView();
  loadAll();
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = t('pageTitle');
  for (const element of document.querySelectorAll('[data-i18n]')) element.textContent = t(element.dataset.i18n);
  $('lang-ja').setAttribute('aria-pressed', String(state.lang === 'ja'));
  $('lang-en').setAttribute('aria-pressed', String(state.lang === 'en'));
}

function setLanguage(lang) {
  state.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
  rememberView();
  applyLanguage();
  renderAll();
}

function start() {
  const params = new URLSearchParams(location.search);
  const lang = params.get('lang') || localStorage.getItem(LANG_KEY);
  state.lang = lang === 'en' ? 'en' : 'ja';
  state.filter = filterFromAddress(params);
  proposalsFromAddress(params);
  applyLanguage();
  $('as-of').addEventListener('change', (event) => setDate(event.target.value.trim()));
  $('today').addEventListener('click', () => setDate(todayInJapan()));
  $('known-at').addEventListener('change', (event) => setKnownAt(event.target.value));
  $('lang-ja').addEventListener('click', () => setLanguage('ja'));
  $('lang-en').addEventListener('click', () => setLanguage('en'));
  $('token-form').addEventListener('submit', (event) => {
    useToken(event);
    // The changes view adds the designations' counts once there is a token, and the
    // proposals need one.
    if (state.token && state.changes) act(loadChanges);
    if (state.token) refreshProposals();
  });
  $('token-clear').addEventListener('click', () => {
    forgetToken();
    if (state.changes) state.changes.designations = null;
    renderChanges();
    refreshProposals();
  });
  $('changes-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(loadChanges);
  });
  for (const button of document.querySelectorAll('button[data-export]')) {
    button.addEventListener('click', () => act(() => downloadExport(button.dataset.export)));
  }
  const recorded = params.get('knownAt') ? new Date(params.get('knownAt')) : null;
  if (recorded && !Number.isNaN(recorded.getTime())) {
    state.knownAt = recorded.toISOString();
    $('known-at').value = localValue(recorded);
  }
  const asked = params.get('asOf');
  const asOf = asked && isIsoDate(asked) ? asked : todayInJapan();
  setDate(asOf);
  const from = params.get('changesFrom');
  const to = params.get('changesTo');
  $('changes-from').value = from && isIsoDate(from) ? from : yearsBefore(asOf, 1);
  $('changes-to').value = to && isIsoDate(to) ? to : asOf;
  act(loadChanges);
  refreshProposals();
}

start();
