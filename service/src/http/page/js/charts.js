// Charts drawn as SVG by the page itself: the crosswalk's heat map, the picture of the
// two regimes' totals and small bars for counts. Every mark carries its number as text
// too (a <title> and data attributes), so that the charts read without colour.

import { svg } from './dom.js';

const CELL = 34;
const ROW_LABEL = 200;
const COLUMN_LABEL = 150;

/** A colour from pale to the accent, by the share of the largest count (square root,
 *  so that small counts stay visible next to a large one). */
function shade(count, max) {
  if (max === 0 || count === 0) return '#eef2f8';
  const share = Math.sqrt(count / max);
  const mix = (from, to) => Math.round(from + (to - from) * share);
  return `rgb(${mix(219, 23)}, ${mix(231, 74)}, ${mix(247, 140)})`;
}

/** Runs `onOpen` on a click, Enter or Space: an SVG group that acts as a button. */
function asButton(onOpen, label) {
  return {
    role: 'button',
    tabindex: '0',
    'aria-label': label,
    onclick: onOpen,
    onkeydown: (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        onOpen();
      }
    },
  };
}

/**
 * A heat map: `rows` and `columns` are { key, label }; `cell(row, column)` is null for
 * a pair with no link (`unlinkedLabel(row, column)` names it), else
 * { count, label, onOpen, dataset }.
 */
export function heatMap(rows, columns, cell, { title, unlinkedLabel }) {
  const cells = rows.map((row) => columns.map((column) => cell(row, column)));
  const max = Math.max(0, ...cells.flat().filter(Boolean).map((c) => c.count));
  // Room on the right for the last column's slanted label.
  const width = ROW_LABEL + columns.length * CELL + 90;
  const height = COLUMN_LABEL + rows.length * CELL + 8;
  const marks = [];
  columns.forEach((column, x) => {
    const cx = ROW_LABEL + x * CELL + CELL / 2;
    marks.push(svg('text', { class: 'column-label', x: cx, y: COLUMN_LABEL - 6, transform: `rotate(-55 ${cx} ${COLUMN_LABEL - 6})` }, column.label));
  });
  rows.forEach((row, y) => {
    const top = COLUMN_LABEL + y * CELL;
    marks.push(svg('text', { class: 'row-label', x: ROW_LABEL - 8, y: top + CELL / 2 + 4, 'text-anchor': 'end' }, row.label));
    columns.forEach((column, x) => {
      const left = ROW_LABEL + x * CELL;
      const value = cells[y][x];
      if (!value) {
        marks.push(svg('rect', { class: 'unlinked', x: left + 1, y: top + 1, width: CELL - 2, height: CELL - 2, fill: 'url(#hatch)' }, svg('title', {}, unlinkedLabel(row, column))));
        return;
      }
      const dark = max > 0 && value.count / max > 0.35;
      const attrs = value.count > 0 && value.onOpen ? asButton(value.onOpen, value.label) : {};
      marks.push(svg(
        'g',
        { class: value.count > 0 ? 'heat-cell open' : 'heat-cell', dataset: value.dataset, ...attrs },
        svg('title', {}, value.label),
        svg('rect', { x: left + 1, y: top + 1, width: CELL - 2, height: CELL - 2, rx: 3, fill: shade(value.count, max) }),
        svg('text', { x: left + CELL / 2, y: top + CELL / 2 + 4, 'text-anchor': 'middle', class: dark ? 'count dark' : 'count' }, String(value.count)),
      ));
    });
  });
  return svg(
    'svg',
    { class: 'heat-map', viewBox: `0 0 ${width} ${height}`, width, height, role: 'group', 'aria-label': title },
    svg('defs', {}, svg(
      'pattern',
      { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      svg('rect', { width: 6, height: 6, fill: '#f7f8fa' }),
      svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#d5dae2', 'stroke-width': 2 }),
    )),
    marks,
  );
}

/**
 * The two regimes' operators as one bar: CI only, both, ESPA only, with brackets for
 * all of CI (above) and all of ESPA (below). `parts` are { key, label, count, onOpen }.
 */
export function regimeBar(parts, ciLabel, espaLabel, title) {
  const width = 720;
  const [left, top, barHeight] = [10, 34, 40];
  const span = width - 2 * left;
  const total = parts.reduce((sum, p) => sum + p.count, 0);
  const marks = [];
  let x = left;
  const edges = {};
  for (const part of parts) {
    const w = total === 0 ? span / parts.length : (span * part.count) / total;
    edges[part.key] = [x, x + w];
    const attrs = part.count > 0 ? asButton(part.onOpen, `${part.label}: ${part.count}`) : {};
    marks.push(svg(
      'g',
      { class: `segment segment-${part.key}`, dataset: { segment: part.key, count: String(part.count) }, ...attrs },
      svg('title', {}, `${part.label}: ${part.count}`),
      svg('rect', { x, y: top, width: Math.max(w, 0), height: barHeight }),
      w > 40 ? svg('text', { x: x + w / 2, y: top + barHeight / 2 + 5, 'text-anchor': 'middle', class: 'segment-count' }, String(part.count)) : null,
    ));
    x += w;
  }
  const bracket = (from, to, y, tick, label, cls) => svg(
    'g',
    { class: `bracket ${cls}` },
    svg('path', { d: `M${from + 1} ${y + tick} V${y} H${to - 1} V${y + tick}`, fill: 'none' }),
    svg('text', { x: (from + to) / 2, y: tick < 0 ? y + 16 : y - 6, 'text-anchor': 'middle' }, label),
  );
  const ci = [edges.ciOnly[0], edges.both[1]];
  const espa = [edges.both[0], edges.espaOnly[1]];
  const legend = parts.map((part, i) => svg(
    'g',
    { class: `legend segment-${part.key}`, transform: `translate(${left + i * 240} ${top + barHeight + 58})` },
    svg('rect', { width: 14, height: 14, y: -11 }),
    svg('text', { x: 20 }, `${part.label} ${part.count}`),
  ));
  return svg(
    'svg',
    { class: 'regime-bar', viewBox: `0 0 ${width} ${top + barHeight + 70}`, width, height: top + barHeight + 70, role: 'group', 'aria-label': title },
    bracket(ci[0], ci[1], top - 8, 6, `${ciLabel} ${parts.find((p) => p.key === 'ciOnly').count + parts.find((p) => p.key === 'both').count}`, 'bracket-ci'),
    marks,
    bracket(espa[0], espa[1], top + barHeight + 8, -6, `${espaLabel} ${parts.find((p) => p.key === 'espaOnly').count + parts.find((p) => p.key === 'both').count}`, 'bracket-espa'),
    legend,
  );
}

/** A small horizontal bar for `count` out of `max`, to sit in a table cell. */
export function bar(count, max, cls) {
  const width = max === 0 ? 0 : (100 * count) / max;
  return svg(
    'svg',
    { class: `bar ${cls || ''}`, viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
    svg('rect', { class: 'bar-track', width: 100, height: 10 }),
    svg('rect', { class: 'bar-fill', width, height: 10 }),
  );
}
