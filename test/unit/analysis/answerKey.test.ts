// Trained models the analysis was not built on (test/fixtures/answer-key, scripts/models/train_bytes.py):
// byte-level causal GPTs with 128 and 64 learned positions, trained on text plus repeats of letters and
// digits only. Their answer key was measured in PyTorch the way TransformerLens does (prefix matching on
// repeated random printable bytes with BOS, previous-token score on natural text, with and without the
// first token) and turned into role sets by a rule written in each card — never from Headlight's output.
// Headlight's real pipeline (engine + probe + analysis, as the panel and the CLI run it) must name every
// head the key names, and give no induction / duplicate-token / previous-token role to a head the key
// marks "clearly not". Heads the key calls ambiguous are not asserted. A missing fixture fails the suite.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { SessionPipeline, type BuiltSession } from '../../../src/session/pipeline';
import type { HeadReport } from '../../../src/analysis';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/answer-key');
const MODELS = ['bytes-l2h4-p128', 'bytes-l3h4-p64'];
const KEYED_ROLES = ['induction', 'duplicate-token', 'previous-token'] as const;
type KeyedRole = (typeof KEYED_ROLES)[number];

interface KeyHead {
  id: string;
  layer: number;
  head: number;
  probe: { induction: number; inductionStd: number; duplicate: number; inductionExclFirst: number; restMassSecondCopy: number };
  text: { previous: number; previousExclFirst: number; firstToken: number };
  verdict: Record<KeyedRole, 'yes' | 'clearly-not' | 'ambiguous'>;
}
interface Card {
  maxPositions: number;
  layers: number;
  headsPerLayer: number;
  answerKey: {
    T: number;
    roles: Record<KeyedRole, string[]>;
    clearlyNot: Record<KeyedRole, string[]>;
    heads: KeyHead[];
    selections: { name: string; text: string; tokens: number }[];
  };
}

/**
 * How far Headlight's probe-based induction score may sit from the key's. Headlight draws ONE sequence of
 * T ordinary tokens with its own PRNG; the key is the mean over 32 sequences of printable bytes, and
 * records the spread of one sequence's score (inductionStd). Three standard deviations of a single draw
 * cover it 99.7% of the time; the 0.05 floor absorbs a slightly different ordinary-token set (e.g. tab and
 * newline, which also decode to printable text) and float differences between onnxruntime and PyTorch.
 */
const tolerance = (h: KeyHead): number => 0.05 + 3 * h.probe.inductionStd;

const why = (r: HeadReport): string =>
  `${r.id}: roles [${r.roles.map((x) => x.name).join(', ')}]; candidates ${JSON.stringify(r.candidates.map((c) => [c.name, +c.score.toFixed(3), c.source, c.reason ?? '']))}`;

describe('analysis: answer-key models (trained byte GPTs, roles from a PyTorch key)', function () {
  this.timeout(180_000);
  let pipeline: SessionPipeline;
  before(() => (pipeline = new SessionPipeline(new EngineClient())));
  after(() => pipeline.dispose());

  for (const name of MODELS) {
    describe(name, () => {
      const dir = path.join(FIXTURES, name);
      const model: ModelRef = { modelPath: path.join(dir, 'model.onnx'), tokenizerPath: path.join(dir, 'tokenizer.json'), name };
      let card: Card;
      let built: Promise<BuiltSession>;
      const reports = async (): Promise<Map<string, HeadReport>> => new Map((await built).reports.map((r) => [r.id, r]));

      before(() => {
        for (const f of ['model.onnx', 'tokenizer.json', 'card.json'])
          assert.ok(existsSync(path.join(dir, f)), `missing test/fixtures/answer-key/${name}/${f}`);
        card = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8')) as Card;
        const sel = card.answerKey.selections[0];
        // The ~30-token selection the key also scored; the whole explain, probe included, as the panel runs it.
        built = pipeline.build({ id: 1, title: `${name} ${sel.name}`, text: sel.text, model });
        built.catch(() => undefined); // each test awaits it and reports the failure itself
      });

      it('is a small model with a short learned context, and the key names a role', () => {
        assert.ok(statSync(model.modelPath).size <= 2 * 1024 * 1024);
        assert.ok(card.maxPositions <= 128);
        assert.equal(card.answerKey.T, Math.min(64, Math.floor((card.maxPositions - 1) / 2)));
        assert.equal(card.answerKey.heads.length, card.layers * card.headsPerLayer);
        assert.ok(
          card.answerKey.roles.induction.length + card.answerKey.roles['previous-token'].length > 0,
          'the key names no head: the fixture tests nothing',
        );
      });

      it('explains the ~30-token selection with every head reported', async () => {
        const b = await built;
        assert.equal(b.result.tokens.length, card.answerKey.selections[0].tokens);
        assert.equal(b.reports.length, card.layers * card.headsPerLayer);
      });

      it('names every head the key marks induction or previous-token (and duplicate-token)', async () => {
        const got = await reports();
        for (const role of KEYED_ROLES) {
          for (const id of card.answerKey.roles[role]) {
            const r = got.get(id);
            assert.ok(r, `no report for ${id}`);
            assert.ok(
              r.roles.some((x) => x.name === role),
              `key: ${id} is ${role}; Headlight: ${why(r)}`,
            );
          }
        }
      });

      it('gives no induction, duplicate-token or previous-token role to a head the key marks clearly not', async () => {
        const got = await reports();
        for (const role of KEYED_ROLES) {
          for (const id of card.answerKey.clearlyNot[role]) {
            const r = got.get(id)!;
            assert.ok(!r.roles.some((x) => x.name === role), `key: ${id} is clearly not ${role}; Headlight: ${why(r)}`);
          }
        }
      });

      it('probe induction scores agree with the PyTorch key within the spread of one draw', async () => {
        const got = await reports();
        for (const k of card.answerKey.heads) {
          const v = got.get(k.id)!.metrics.probeInduction;
          assert.ok(Number.isFinite(v), `${k.id}: probeInduction not measured (${got.get(k.id)!.notes.probeInduction ?? ''})`);
          assert.ok(
            Math.abs(v - k.probe.induction) <= tolerance(k),
            `${k.id}: Headlight ${v.toFixed(3)}, key ${k.probe.induction} ± ${tolerance(k).toFixed(3)}`,
          );
        }
      });
    });
  }
});
