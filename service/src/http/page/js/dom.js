// Building the page's elements, and its status line.

export const $ = (id) => document.getElementById(id);

/** Creates an element; children are nodes or text (never parsed as HTML). */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export const headRow = (labels) => h('thead', {}, h('tr', {}, labels.map((label) => h('th', { scope: 'col' }, label))));

export function showStatus(message, isError) {
  const status = $('status');
  status.textContent = message || '';
  status.className = isError ? 'error' : '';
}
