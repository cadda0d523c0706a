// Building the page's elements, and its status line.

export const $ = (id) => document.getElementById(id);

// Only names the SVG elements' namespace; nothing is fetched from it.
const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

/** Sets attributes and appends children (nodes or text, never parsed as HTML). */
function fill(element, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Creates an HTML element. */
export const h = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);

/** Creates an SVG element. */
export const svg = (tag, attrs, ...children) => fill(document.createElementNS(SVG_NAMESPACE, tag), attrs, children);

/** Replaces an element's children (null, undefined and false are left out). */
export function replace(element, ...children) {
  element.replaceChildren();
  return fill(element, {}, children);
}

export const headRow = (labels) => h('thead', {}, h('tr', {}, labels.map((label) => h('th', { scope: 'col' }, label))));

export function showStatus(message, isError) {
  const status = $('status');
  status.textContent = message || '';
  status.className = isError ? 'error' : '';
}
