import * as assert from 'node:assert/strict';
import { inlineJson } from '../../../src/core/inlineJson';

describe('inlineJson (bootstrap state inside <script type="application/json">)', () => {
  it('never lets document text close the script element or open markup', () => {
    const hostile = '</script><script>alert(1)</script><!-- <img src=x onerror=alert(2)> & \u2028\u2029';
    const out = inlineJson({ text: hostile });
    assert.ok(!out.includes('<'), out);
    assert.ok(!out.includes('>'), out);
    assert.ok(!out.includes('&'), out);
    assert.ok(!out.includes('\u2028') && !out.includes('\u2029'));
  });

  it('round-trips exactly through JSON.parse', () => {
    const value = { text: '</script> a<b && c>d \u2028 😀 עברית', n: [1, 2.5], nested: { ok: true } };
    assert.deepEqual(JSON.parse(inlineJson(value)), value);
  });
});
