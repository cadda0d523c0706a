// The filter by ministry and regime that every view follows (kept in the address).

import { $, h, replace } from './dom.js';
import { nameOf, rememberView, state, t } from './state.js';

/** Draws the two selects for the loaded date's ministries; `onChange` re-draws the views. */
export function renderFilters(onChange) {
  if (!state.scope) return;
  const { ministry, regime } = state.filter;
  const choose = (key) => (event) => {
    state.filter = { ...state.filter, [key]: event.target.value };
    rememberView();
    onChange();
  };
  const option = (value, label, selected) => h('option', { value, selected: value === selected }, label);
  replace($('filters'),
    h('span', { class: 'filter-label' }, t('filterLabel')),
    h(
      'label',
      {},
      t('filterMinistry'),
      ' ',
      h(
        'select',
        { id: 'filter-ministry', onchange: choose('ministry') },
        option('', t('anyMinistry'), ministry),
        state.scope.ministries.map((m) => option(m.code, nameOf(m), ministry)),
      ),
    ),
    h(
      'label',
      {},
      t('filterRegime'),
      ' ',
      h(
        'select',
        { id: 'filter-regime', onchange: choose('regime') },
        option('', t('bothRegimes'), regime),
        option('CI', t('ci'), regime),
        option('ESPA', t('espa'), regime),
      ),
    ),
    h('span', { id: 'filter-note', class: 'hint' }),
  );
}

/** The filter asked for in the address (unknown values are dropped when drawn). */
export function filterFromAddress(params) {
  const regime = params.get('regime');
  return { ministry: params.get('ministry') || '', regime: regime === 'CI' || regime === 'ESPA' ? regime : '' };
}
