// The pairs Compare Models suggests, as data (no vscode: unit-tested). Scale pairs first — bundled models of
// one kind that share a tokenizer file, smaller first, so the very same tokens go through both — then each
// model's earliest checkpoint vs its final one (a training pair), then consecutive checkpoints: derived from
// whatever checkpoint folders each model ships (a model with fewer than two has no training pair).
import * as fs from 'node:fs';
import type { BundledModel } from '../engine';

export type ComparePair =
  | { kind: 'scale'; a: string; b: string; shapeA: string; shapeB: string }
  | { kind: 'training' | 'step'; model: string; a: string; b: string; stepA: number; stepB: number };

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function comparePairs(models: BundledModel[]): ComparePair[] {
  const out: ComparePair[] = [];
  const size = (m: BundledModel) => Number(m.card?.layers ?? 0) * Number(m.card?.headsPerLayer ?? 0);
  const shownCount = (v: unknown): string => (typeof v === 'number' ? String(v) : '?'); // card.json is read from disk
  const shape = (m: BundledModel) => `${shownCount(m.card?.layers)} × ${shownCount(m.card?.headsPerLayer)} heads`;
  const tokenizer = new Map(models.map((m) => [m.name, readOrEmpty(m.tokenizerPath)]));
  const bySize = [...models].sort((a, b) => size(a) - size(b) || a.name.localeCompare(b.name));
  for (let i = 0; i < bySize.length; i++) {
    for (let j = i + 1; j < bySize.length; j++) {
      const [a, b] = [bySize[i], bySize[j]];
      const tok = tokenizer.get(a.name);
      if (size(a) === size(b) || a.card?.kind !== b.card?.kind || !tok || tok !== tokenizer.get(b.name)) continue;
      out.push({ kind: 'scale', a: a.name, b: b.name, shapeA: shape(a), shapeB: shape(b) });
    }
  }
  for (const m of models) {
    const ck = m.checkpoints;
    if (ck.length < 2) continue;
    const first = ck[0],
      last = ck[ck.length - 1];
    out.push({ kind: 'training', model: m.name, a: `${m.name}@step-${first.step}`, b: `${m.name}@step-${last.step}`, stepA: first.step, stepB: last.step });
    for (let i = 0; i + 1 < ck.length; i++) {
      out.push({
        kind: 'step',
        model: m.name,
        a: `${m.name}@step-${ck[i].step}`,
        b: `${m.name}@step-${ck[i + 1].step}`,
        stepA: ck[i].step,
        stepB: ck[i + 1].step,
      });
    }
  }
  return out;
}
