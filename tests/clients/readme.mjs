// The GraphQL documents the README shows: indented blocks (four spaces) that start
// with `{`, `query`, `mutation` or `subscription`, up to a blank line or an answer
// (`→ …`), and the `"query":"…"` texts of its WebSocket transcripts.
import { readFileSync } from 'node:fs';

export function readmeDocuments(path) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const documents = [];
  for (let i = 0; i < lines.length; i++) {
    const start = lines[i].match(/^ {4}(\{ |query\b|mutation\b|subscription\b)/);
    if (!start) continue;
    const first = i + 1;
    const block = [lines[i].slice(4)];
    while (i + 1 < lines.length && lines[i + 1].startsWith('    ') && !/^\s+→/.test(lines[i + 1])) {
      block.push(lines[++i].slice(4));
    }
    documents.push({ name: `README.md:${first}`, source: block.join('\n') });
  }
  // Transcripts such as `→ B  {"id":"1","type":"subscribe","payload":{"query":"subscription { … }"}}`,
  // whose query may go on over the following lines.
  const text = lines.join('\n');
  for (const match of text.matchAll(/"query":"((?:[^"\\]|\\.)*)"/g)) {
    const source = JSON.parse(`"${match[1].replace(/\n\s*/g, ' ')}"`);
    const line = text.slice(0, match.index).split('\n').length;
    documents.push({ name: `README.md:${line}`, source });
  }
  for (const match of text.matchAll(/→ [AB] {2}((?:mutation|query|subscription) \{[\s\S]*?\}) *\n(?! {11})/g)) {
    const line = text.slice(0, match.index).split('\n').length;
    documents.push({ name: `README.md:${line}`, source: match[1] });
  }
  return documents;
}
