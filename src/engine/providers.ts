// Execution providers (headlight.executionProviders) and the CPU session tuning. Validation happens
// before any session exists, so an unknown name is a clear EngineError naming what this platform's
// onnxruntime-node does have, never a native crash.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors';

export const DEFAULT_PROVIDERS: readonly string[] = ['cpu'];

/** What onnxruntime-node offers on this platform, e.g. cpu, webgpu, cuda (not bundled), tensorrt. */
export function listProviders(): { name: string; bundled: boolean }[] {
  try {
    return ort.listSupportedBackends().map((b) => ({ name: b.name.toLowerCase(), bundled: b.bundled }));
  } catch {
    return [{ name: 'cpu', bundled: true }];
  }
}

function describeAvailable(): string {
  return listProviders()
    .map((b) => (b.bundled ? b.name : `${b.name} (its libraries are installed separately)`))
    .join(', ');
}

// The setting comes from the user's settings.json: its type is checked, not assumed.
const isNameList = (x: unknown): x is string[] => Array.isArray(x) && x.every((p) => typeof p === 'string');

/** Normalise a user's list (trim, lower-case, no duplicates); default ['cpu']; unknown names refused. */
export function resolveProviders(list: readonly string[] | undefined): string[] {
  if (list === undefined || list === null) return [...DEFAULT_PROVIDERS];
  if (!isNameList(list)) {
    throw new EngineError('bad-request', `executionProviders must be a list of names such as ["cpu"] or ["cuda", "cpu"], got ${JSON.stringify(list)}.`);
  }
  const names = [...new Set(list.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))];
  if (!names.length) return [...DEFAULT_PROVIDERS];
  const known = new Set(listProviders().map((b) => b.name));
  const missing = names.filter((p) => !known.has(p));
  const leftOut = unpackagedProviders(names, process.platform, ortBinaryDir());
  if (leftOut.length) {
    throw new EngineError(
      'provider-unavailable',
      `Execution provider "${leftOut[0].name}" needs ${leftOut[0].file}, which this Headlight package leaves out (GPU-only, ${leftOut[0].size}; onnxruntime only delay-loads it). ` +
        `Set headlight.executionProviders to ["cpu"], or run Headlight from a source checkout (npm ci), whose onnxruntime-node carries it.`,
      {
        requested: names.join(','),
        available: listProviders()
          .map((b) => b.name)
          .filter((n) => !leftOut.some((l) => l.name === n))
          .join(','),
      },
    );
  }
  if (missing.length) {
    throw new EngineError(
      'provider-unavailable',
      `Execution provider${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not available in ONNX Runtime on ${process.platform}-${process.arch}. ` +
        `Available here: ${describeAvailable()}. Set headlight.executionProviders to ["cpu"] or to one of those.`,
      {
        requested: names.join(','),
        available: listProviders()
          .map((b) => b.name)
          .join(','),
      },
    );
  }
  return names;
}

/**
 * GPU-only libraries the platform .vsix files leave out (scripts/package.mjs): asking for their provider
 * would make Windows look for the DLL when onnxruntime first calls it (it is delay-loaded). Listed here so
 * the request is refused with a message before any session exists.
 */
const LEFT_OUT: Record<string, { platform: string; file: string; size: string }> = {
  dml: { platform: 'win32', file: 'DirectML.dll', size: '18 MB' },
};

/** The requested providers whose library is not beside onnxruntime's binary in `binDir` (pure: `exists` is injectable). */
export function unpackagedProviders(
  names: readonly string[],
  platform: string,
  binDir: string | undefined,
  exists: (p: string) => boolean = fs.existsSync,
): { name: string; file: string; size: string }[] {
  if (!binDir) return [];
  return names.flatMap((name) => {
    const l = LEFT_OUT[name];
    return l && l.platform === platform && !exists(path.join(binDir, l.file)) ? [{ name, file: l.file, size: l.size }] : [];
  });
}

/** onnxruntime-node's folder of native files for this platform (bin/napi-vN/<platform>/<arch>), if found. */
function ortBinaryDir(): string | undefined {
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    const napi = fs.readdirSync(bin).find((d) => /^napi-v\d+$/.test(d));
    return napi ? path.join(bin, napi, process.platform, process.arch) : undefined;
  } catch {
    return undefined;
  }
}

/** A listed provider that still failed to start (missing CUDA libraries, no GPU adapter …). */
export function providerFailure(providers: readonly string[], why: string): EngineError {
  return new EngineError(
    'provider-unavailable',
    `ONNX Runtime could not start the execution provider${providers.length > 1 ? 's' : ''} ${providers.join(', ')}: ${why}. Available on ${process.platform}-${process.arch}: ${describeAvailable()}. ` +
      `Install the provider's runtime (e.g. the CUDA build of onnxruntime-node and CUDA/cuDNN) or set headlight.executionProviders to ["cpu"].`,
    {
      requested: providers.join(','),
      available: listProviders()
        .map((b) => b.name)
        .join(','),
    },
  );
}

/**
 * Session options for these providers. CPU choice, measured with `bench/engineRatio.ts --tune` on the
 * GPT-2-small-shaped model (12 layers x 12 heads, attention outputs fetched), 2 cores, Node 20, ORT
 * 1.30, on a machine shared with other work (load average 3-8 throughout: never below 1.5). Medians
 * in seconds over 3 reps x rounds:
 *
 *                      run A (2 rounds, load 3-6)      run B (3 rounds, load 3-9)
 *   level/threads      512 tok   1024 tok              512 tok   1024 tok
 *   basic/1            1.96      4.79                  1.75      4.27
 *   basic/default      2.37      5.43                  2.11      6.19
 *   extended/1         1.93      4.46                  1.83      4.98
 *   extended/default   3.03      6.61                  1.41      6.23
 *   all/1              2.01      5.26                  2.18      6.49
 *   all/default        3.59      9.83                  1.16      3.20
 *   (run A also had threads=2: basic 2.37/6.98, extended 2.41/5.39, all 5.03/6.26)
 *
 * Whenever the second core was free (run B's good reps), all/default was clearly fastest: 0.85-1.16 s
 * at 512 and 2.3-2.8 s at 1,024 tokens, against ~1.7 s and ~4.0 s for any level on one thread.
 * One thread only wins while another process holds a core (run A), and a fixed 1 would halve
 * throughput on every idle multi-core machine, where users wait on an idle editor. 'basic' loses
 * ORT's MatMul/GELU/LayerNorm fusions (basic/default 1,024: 5.4-6.2 s); 'extended' vs 'all' differ
 * less than the noise for this graph. So: 'all' and ORT's default intra-op threads (one per physical
 * core). The numbers are noisy by necessity; re-run the bench on a quiet machine before changing it.
 * Other providers get the same level; their threading is their own.
 */
export function sessionTuning(providers: readonly string[]): {
  graphOptimizationLevel: 'basic' | 'extended' | 'all';
  intraOpNumThreads?: number;
  enableMemPattern: boolean;
} {
  void providers;
  // No memory pattern: with one, ORT's second run at a given length asks the arena for the whole planned
  // block at once, which the first run's freed pieces cannot hold, so the arena grows by it — 0.9 GB more on
  // the long-context model at 4,096 tokens (run alone: 3.6 → 2.7 GB peak; the second explain 4.3 → 3.4 GB),
  // for no measurable difference in run time (GPT-2-small shape at 1,024 tokens: 2.14 s both ways).
  return { graphOptimizationLevel: 'all', enableMemPattern: false };
}
