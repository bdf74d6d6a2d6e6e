import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { csvField, headsCsv, headsJson } from '../../../src/export/tables';
import { buildReport, decodeTyped, inlineScript, reportHeads, SHORT_TEXT_TOKENS } from '../../../src/export/report';
import { defaultPanelState, type SessionData } from '../../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
const TEXT = 'say "hi", then\nleave';
const session = (): SessionData => ({
  id: 3,
  title: 'Attention: a.txt:1',
  text: TEXT,
  model: { name: 'planted', kind: 'causal', layers: 1, headsPerLayer: 2 },
  tokens: [
    { text: '<bos>', start: -1, end: -1, special: true },
    { text: 'say', start: 0, end: 3, special: false },
    { text: ' "hi",', start: 3, end: 9, special: false },
  ],
  heads: [
    {
      layer: 0,
      head: 0,
      id: 'L0H0',
      metrics: { entropy: 0.25, distance: NaN },
      notes: { distance: 'needs 2+ tokens' },
      roles: [{ name: 'previous-token', score: 0.8125, threshold: 0.5, evidence: 'e.g. ` "hi",` → `say`, then\nmore', source: 'text' }],
    },
    { layer: 0, head: 1, id: 'L0H1', metrics: { entropy: 1, distance: 2.5 }, notes: {}, roles: [] },
  ],
  metrics: [
    { key: 'entropy', label: 'Entropy', definition: 'd' },
    { key: 'distance', label: 'Distance', definition: 'd' },
  ],
  thumbSize: 2,
  thumbnails: [new Uint8Array([0, 255, 7, 9]), new Uint8Array([1, 2, 3, 4])],
});

/** A small RFC 4180 reader, independent of the writer. */
function parseCsv(s: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    field = '',
    q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && s[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

describe('export: CSV and JSON of heads', () => {
  it('quotes fields with commas, quotes and newlines, doubling quotes', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(NaN), '');
    assert.equal(csvField(0.5), '0.5');
  });

  it('writes one row per head with roles, evidence (token text intact) and metrics; NaN is an empty cell', () => {
    const csv = headsCsv(session());
    assert.ok(csv.endsWith('\r\n'));
    const rows = parseCsv(csv);
    assert.deepEqual(rows[0], ['layer', 'head', 'id', 'roles', 'evidence', 'entropy', 'distance']);
    assert.deepEqual(rows[1], ['0', '0', 'L0H0', 'previous-token 0.813', 'previous-token: e.g. ` "hi",` → `say`, then\nmore', '0.25', '']);
    assert.deepEqual(rows[2], ['0', '1', 'L0H1', '', '', '1', '2.5']);
    assert.equal(rows.length, 3);
  });

  it('JSON keeps tokens and roles and writes unmeasurable metrics as null', () => {
    const j = JSON.parse(headsJson(session()));
    assert.equal(j.format, 'headlight-heads');
    assert.equal(j.heads[0].metrics.distance, null);
    assert.equal(j.heads[0].metrics.entropy, 0.25);
    assert.equal(j.heads[0].notes.distance, 'needs 2+ tokens');
    assert.equal(j.heads[0].roles[0].evidence, 'e.g. ` "hi",` → `say`, then\nmore');
    assert.equal(j.tokens[2].text, ' "hi",');
    assert.equal(j.text, TEXT);
  });
});

describe('export: standalone HTML report', () => {
  const js = fs.readFileSync(path.join(ROOT, 'dist', 'webview.js'), 'utf8');
  const css = fs.readFileSync(path.join(ROOT, 'dist', 'webview.css'), 'utf8');
  const state = defaultPanelState('file:///a.txt', [0, 0, 1, 5], 'planted');
  const s = session();
  s.text = TEXT + ' </script><script>alert(1)</script> http://evil.example/x';
  const mats = [{ layer: 0, head: 0, seq: 3, data: new Uint8Array([255, 0, 0, 128, 127, 0, 1, 2, 252]) }];
  const flows = [{ token: 0, layers: [new Float32Array([1, 0, 0]), new Float32Array([0.5, 0.25, 0.25])] }];
  const html = buildReport({ session: s, state, matrices: mats, flows }, { js, css }, 'TESTNONCE123');

  it('carries the panel CSP and puts the nonce on every script and style', () => {
    assert.match(
      html,
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-TESTNONCE123'; style-src 'nonce-TESTNONCE123'; img-src data: blob:">/,
    );
    const tags = html.match(/<(script|style)\b[^>]*>/g) ?? [];
    assert.equal(tags.length, 7); // 2 styles, bootstrap + data JSON, stub, bundle, charts bundle
    for (const t of tags) assert.match(t, /nonce="TESTNONCE123"/, t);
    // The page's own markup (script bodies aside) loads nothing and has no inline style attributes.
    const markup = html.replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');
    assert.doesNotMatch(markup, /<link\b|\bsrc=|style="/);
  });

  it('names no http or https URL anywhere, even when the user text holds one', () => {
    assert.doesNotMatch(html, /https?:\/\//i);
    assert.equal(inlineScript('x = "http://www.w3.org/2000/svg"'), 'x = "http:\\/\\/www.w3.org/2000/svg"');
    // ...and the escape means the same string to JavaScript.
    assert.equal(eval(inlineScript('"http://www.w3.org/2000/svg"')), 'http://www.w3.org/2000/svg');
  });

  it('user text cannot close a script element', () => {
    const scripts = html.split(/<\/script>/).length - 1;
    assert.equal(scripts, 5, 'exactly the five scripts the builder writes (the charts bundle last: webview/csp.ts stamps its styles)');
  });

  it('round-trips the session, matrices and flows (typed arrays and NaN included)', () => {
    const m = /<script type="application\/json" id="headlight-report-data" nonce="TESTNONCE123">([\s\S]*?)<\/script>/.exec(html)!;
    const back = decodeTyped(m[1]) as { session: SessionData; matrices: typeof mats; flows: typeof flows; state: typeof state };
    assert.equal(back.session.text, s.text);
    assert.deepEqual(back.session.tokens, s.tokens);
    assert.ok(Number.isNaN(back.session.heads[0].metrics.distance));
    assert.deepEqual([...back.session.thumbnails[0]], [0, 255, 7, 9]);
    assert.ok(back.matrices[0].data instanceof Uint8Array);
    assert.deepEqual([...back.matrices[0].data], [...mats[0].data]);
    assert.ok(back.flows[0].layers[1] instanceof Float32Array);
    assert.deepEqual([...back.flows[0].layers[1]], [0.5, 0.25, 0.25]);
    assert.deepEqual(back.state, state);
  });

  it('embeds every head for short texts, only role heads and the current head for long ones', () => {
    const short = session();
    assert.deepEqual(
      reportHeads(short, state).map((x) => `${x.layer}:${x.head}`),
      ['0:0', '0:1'],
    );
    const long = { ...session(), tokens: Array.from({ length: SHORT_TEXT_TOKENS + 1 }, (_, i) => ({ text: 'a', start: i, end: i + 1, special: false })) };
    assert.deepEqual(
      reportHeads(long, { ...state, layer: 0, head: 1 }).map((x) => `${x.layer}:${x.head}`),
      ['0:0', '0:1'],
    );
    assert.deepEqual(
      reportHeads(long, { ...state, layer: 0, head: 0 }).map((x) => `${x.layer}:${x.head}`),
      ['0:0'],
    );
  });
});
