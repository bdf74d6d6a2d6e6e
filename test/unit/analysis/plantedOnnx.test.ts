// The planted-role ONNX model (media/models/planted, built by construction; card.json lists each
// head's true roles). Run it with its Softmax outputs exposed, on the repeat probe and on a real
// text, and require 100% recall and 0 false positives over all heads. The model ships with the
// repository: a missing file fails the suite (never a skip that would stay green).
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { analyzeHeads, makeRepeatProbe, scoreRepeatProbe } from '../../../src/analysis';
import type { Token } from '../../../src/engine/types';
import { openWithSoftmaxOutputs, runAttention, type SoftmaxSession } from './support/onnxAttention';

const dir = path.resolve(__dirname, '../../../media/models/planted');
const modelFile = path.join(dir, 'model.onnx');
const samples = path.resolve(__dirname, '../../../samples');

interface Card {
  vocabSize: number;
  maxPositions: number;
  heads: { layer: number; head: number; roles: string[] }[];
}

describe('analysis: planted ONNX model (ground truth in card.json)', function () {
  this.timeout(120000);

  it('the bundled planted model is in the repository', () => {
    assert.ok(existsSync(modelFile), `missing ${path.relative(path.resolve(__dirname, '../../..'), modelFile)}`);
  });
  let s: SoftmaxSession;
  let card: Card;
  let probeScores: ReturnType<typeof scoreRepeatProbe>;
  let probeIds: number[];
  let probeAtt: Awaited<ReturnType<typeof runAttention>>;
  const T = 50;

  before(async () => {
    card = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8')) as Card;
    s = await openWithSoftmaxOutputs(modelFile);
    const bos = card.vocabSize - 1; // <|bos|> is id 256 of 257 in tokenizer.json
    probeIds = makeRepeatProbe({ size: card.vocabSize, specialIds: [bos], bosId: bos }, T, 1);
    probeAtt = await runAttention(s, probeIds, true);
    probeScores = scoreRepeatProbe(probeAtt, probeIds, T);
  });

  const check = (reports: ReturnType<typeof analyzeHeads>): void => {
    assert.equal(reports.length, card.heads.length);
    for (const truth of card.heads) {
      const r = reports.find((x) => x.layer === truth.layer && x.head === truth.head);
      assert.ok(r);
      assert.deepEqual(
        r.roles.map((x) => x.name).sort(),
        [...truth.roles].sort(),
        `${r.id}: ${JSON.stringify(r.candidates.map((c) => [c.name, +c.score.toFixed(2), c.reason ?? '']))}`,
      );
    }
  };

  it('the probe finds the planted induction and duplicate heads (Olsson score)', () => {
    for (const truth of card.heads) {
      const p = probeScores.find((x) => x.layer === truth.layer && x.head === truth.head);
      assert.ok(p);
      assert.equal(p.inductionCorrected >= 0.5, truth.roles.includes('induction'), `L${p.layer}H${p.head} induction ${p.induction}`);
      assert.equal(p.duplicateCorrected >= 0.5, truth.roles.includes('duplicate-token'), `L${p.layer}H${p.head} duplicate ${p.duplicate}`);
    }
  });

  it('every head on the repeat probe: 100% recall, 0 false positives', () => {
    const tokens: Token[] = probeIds.map((id, i) =>
      i === 0 ? { id, text: '<|bos|>', start: -1, end: -1, special: true } : { id, text: `#${id}`, start: (i - 1) * 4, end: (i - 1) * 4 + 4, special: false },
    );
    check(analyzeHeads(probeAtt, tokens, { probe: probeScores }));
  });

  for (const file of ['repeats.txt', 'prose.txt', 'code.py']) {
    it(`every head on samples/${file}: 100% recall, 0 false positives`, async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the native tokenizer binding, loaded only when this test runs
      const { Tokenizer } = require('tokenizers') as {
        Tokenizer: {
          fromFile(p: string): { encode(t: string): Promise<{ getIds(): number[]; getOffsets(): [number, number][]; getSpecialTokensMask(): number[] }> };
        };
      };
      const text = readFileSync(path.join(samples, file), 'utf8');
      const enc = await Tokenizer.fromFile(path.join(dir, 'tokenizer.json')).encode(text);
      // The model has 256 positions: explain the first 256 tokens (prose.txt and code.py are longer).
      const max = card.maxPositions;
      const ids = enc.getIds().slice(0, max),
        offs = enc.getOffsets().slice(0, max),
        special = enc.getSpecialTokensMask().slice(0, max);
      // Offsets are code points (design notes); these texts are ASCII, so they are UTF-16 units too.
      assert.ok(/^\p{ASCII}*$/u.test(text));
      const tokens: Token[] = ids.map((id, i) =>
        special[i]
          ? { id, text: '<|bos|>', start: -1, end: -1, special: true }
          : { id, text: text.slice(offs[i][0], offs[i][1]), start: offs[i][0], end: offs[i][1], special: false },
      );
      const att = await runAttention(s, ids, true);
      check(analyzeHeads(att, tokens, { probe: probeScores }));
    });
  }
});
