// Downloads: the server's CSV exports, and an operator list on screen as CSV. A token
// problem is thrown as an ApiFailure, for the caller to show where the token is asked for.

import { ApiFailure, MAX_PAGE_SIZE, listPage } from './api.js';
import { h, showStatus } from './dom.js';
import { state, t } from './state.js';

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const anchor = h('a', { href: url, download: filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  showStatus(t('downloaded', filename));
}

/** Downloads one of the server's exports (operator data with the token). */
export async function downloadExport(name) {
  const needsToken = name === 'overlap' || name === 'operators' || name === 'workbook';
  const file = name === 'workbook' ? `${name}.xlsx` : `${name}.csv`;
  if (needsToken && !state.token) throw new ApiFailure('TOKEN_NEEDED', '');
  const headers = needsToken ? { Authorization: `Bearer ${state.token}` } : {};
  let response;
  try {
    const params = new URLSearchParams({ asOf: state.asOf });
    if (state.knownAt) params.set('knownAt', state.knownAt);
    response = await fetch(`/export/${file}?${params}`, { headers });
  } catch (error) {
    showStatus(t('downloadFailed', error.message), true);
    return;
  }
  if (response.status === 404 || response.status === 405) {
    showStatus(t('exportMissing'), true);
  } else if (response.status === 401) {
    throw new ApiFailure('UNAUTHENTICATED', await response.text());
  } else if (response.status === 403) {
    throw new ApiFailure('FORBIDDEN', await response.text());
  } else if (!response.ok) {
    showStatus(t('downloadFailed', `HTTP ${response.status}`), true);
  } else {
    saveBlob(await response.blob(), file.replace('.', `-${state.asOf}.`));
  }
}

/**
 * One CSV field: quoted, and neutralised for spreadsheets by the server's rule
 * (domain/spreadsheet.rs): `'` before a cell that, after any leading `'`s, starts with
 * = + - @ tab or CR and is not a plain number, so that the import can remove it exactly.
 */
function csvField(value) {
  let text = value === null || value === undefined ? '' : String(value);
  const rest = text.replace(/^'+/, '');
  if (/^[=+\-@\t\r]/.test(rest) && !/^[-+]?\d+(\.\d+)?$/.test(rest)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/** The whole of the list on screen (every page), as CSV that Excel opens as UTF-8. */
export async function downloadList(selection) {
  const generation = state.generation;
  const rows = [['corporate_number', 'name_ja', 'name_en', 'ci_sectors', 'espa_domains', 'as_of']];
  let after = null;
  do {
    const page = await listPage(selection, MAX_PAGE_SIZE, after);
    if (generation !== state.generation) return;
    for (const { node } of page.edges) {
      const codes = (regime) => node.designations.filter((d) => d.regime === regime).map((d) => (d.sector || d.domain).code);
      rows.push([node.corporateNumber, node.nameJa, node.nameEn, [...new Set(codes('CI'))].join(' '), [...new Set(codes('ESPA'))].join(' '), state.asOf]);
    }
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  const csv = `\uFEFF${rows.map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
  saveBlob(new Blob([csv], { type: 'text/csv;charset=utf-8' }), `operators-${state.asOf}.csv`);
}
