// CSV and JSON of every head's metrics and roles, built host-side from the session the panel shows.
// No vscode import. NaN (a metric that cannot be measured on this text) is an empty CSV cell and a JSON null.
import type { SessionData } from '../protocol';
import { directVsTotal, sessionWithEffects } from '../session/sessionMetrics';

/** Measured head effects become the `effect` column like any metric. */
const withEffects = (s: SessionData): SessionData => (s.effects ? sessionWithEffects(s, s.effects) : s);

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
export function csvField(v: string | number | undefined): string {
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per head: layer, head, id, roles ("induction 0.84; local 0.72"), the roles' evidence sentences
 * (they quote token text, so they carry the user's commas, quotes and newlines), then every metric.
 * Lines end with CRLF as RFC 4180 says; spreadsheets read both.
 */
export function headsCsv(session: SessionData): string {
  const s = withEffects(session);
  const keys = s.metrics.map((m) => m.key);
  // Direct logit attribution's sentence, and where it and the measured effect disagree, when the session has them.
  const extra = s.dla ? ['direct logit attribution', 'direct vs total'] : [];
  const rows: string[] = [['layer', 'head', 'id', 'roles', 'evidence', ...extra, ...keys].map(csvField).join(',')];
  for (const hd of s.heads) {
    const k = hd.layer * s.model.headsPerLayer + hd.head;
    rows.push(
      [
        hd.layer,
        hd.head,
        hd.id,
        hd.roles.map((r) => `${r.name} ${r.score.toFixed(3)}`).join('; '),
        hd.roles.map((r) => `${r.name}: ${r.evidence}`).join(' | '),
        ...(s.dla ? [s.dla.sentences[k], s.effects ? (directVsTotal(s.dla, s.effects, k, hd.id, hd.layer === s.model.layers - 1) ?? '') : ''] : []),
        ...keys.map((k) => hd.metrics[k]),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return rows.join('\r\n') + '\r\n';
}

export interface HeadsJson {
  format: 'headlight-heads';
  version: 1;
  title: string;
  model: SessionData['model'];
  text: string;
  tokens: SessionData['tokens'];
  metrics: SessionData['metrics'];
  heads: {
    layer: number;
    head: number;
    id: string;
    metrics: Record<string, number | null>;
    notes: Record<string, string>;
    roles: SessionData['heads'][number]['roles'];
    /** Direct logit attribution per token (onto the next token's logit, and the difference to the best other token). */
    dla?: {
      mean: number | null;
      meanAbs: number | null;
      perToken: (number | null)[];
      perTokenDiff: (number | null)[];
      evidence: string;
      directVsTotal?: string;
    };
  }[];
  /** The best other token per position, which dla.perTokenDiff is taken against; or why there is no DLA. */
  dla?: { norm: string; alternatives: string[] };
  dlaNote?: string;
  truncatedFrom?: number;
}

export function headsJsonValue(session: SessionData): HeadsJson {
  const s = withEffects(session);
  return {
    format: 'headlight-heads',
    version: 1,
    title: s.title,
    model: s.model,
    text: s.text,
    tokens: s.tokens,
    metrics: s.metrics,
    heads: s.heads.map((hd) => ({
      layer: hd.layer,
      head: hd.head,
      id: hd.id,
      metrics: Object.fromEntries(Object.entries(hd.metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : null])),
      notes: hd.notes,
      roles: hd.roles,
      ...(s.dla ? { dla: dlaOfHead(s, hd.layer * s.model.headsPerLayer + hd.head, hd.id) } : {}),
    })),
    ...(s.dla ? { dla: { norm: s.dla.norm, alternatives: s.dla.altText } } : s.dlaNote ? { dlaNote: s.dlaNote } : {}),
    ...(s.truncatedFrom !== undefined ? { truncatedFrom: s.truncatedFrom } : {}),
  };
}

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);

function dlaOfHead(s: SessionData, k: number, id: string): NonNullable<HeadsJson['heads'][number]['dla']> {
  const d = s.dla!,
    n = s.tokens.length;
  const gap = s.effects ? directVsTotal(d, s.effects, k, id, Math.floor(k / s.model.headsPerLayer) === s.model.layers - 1) : undefined;
  return {
    mean: num(d.mean[k]),
    meanAbs: num(d.meanAbs[k]),
    perToken: Array.from(d.actual.subarray(k * n, (k + 1) * n), num),
    perTokenDiff: Array.from(d.diff.subarray(k * n, (k + 1) * n), num),
    evidence: d.sentences[k],
    ...(gap ? { directVsTotal: gap } : {}),
  };
}

export function headsJson(s: SessionData): string {
  return JSON.stringify(headsJsonValue(s), null, 1) + '\n';
}
