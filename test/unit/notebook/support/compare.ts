// The parts of an analysis two paths must agree on, in one shape: per head its metrics (NaN as null, as the CLI's
// JSON writes them) and its roles (name, score, threshold, source, evidence sentence).
import type { SessionData } from '../../../../src/protocol';

export interface ComparableHead {
  id: string;
  metrics: Record<string, number | null>;
  roles: { name: string; score: number; threshold: number; source: string; evidence: string }[];
}

export function comparableHeads(s: SessionData): ComparableHead[] {
  return s.heads.map((h) => ({
    id: h.id,
    metrics: Object.fromEntries(Object.entries(h.metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : null])),
    roles: h.roles.map((r) => ({ name: r.name, score: r.score, threshold: r.threshold, source: r.source, evidence: r.evidence })),
  }));
}

interface CliJson {
  tokens: { text: string; start: number; end: number; special: boolean }[];
  heads: {
    id: string;
    metrics: Record<string, number | null>;
    roles: { name: string; score: number; threshold: number; source: string; evidence: string }[];
  }[];
}

export function comparableCliHeads(cli: CliJson): ComparableHead[] {
  return cli.heads.map((h) => ({
    id: h.id,
    metrics: h.metrics,
    roles: h.roles.map((r) => ({ name: r.name, score: r.score, threshold: r.threshold, source: r.source, evidence: r.evidence })),
  }));
}
