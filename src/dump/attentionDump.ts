// An attention dump written elsewhere (a GPU box, Python): attention.safetensors + tokens.json, read
// lazily. The file is opened once; each head is read with one fs.readSync at its offset (seq² values),
// converted to float32, and kept in a small LRU so rollout's per-layer passes don't reread. A 16 GiB
// dump costs one head's bytes per read, never the whole file. Format: docs/dump-format.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../core/errors';
import type { Token } from '../core/attention';
import type { HeadReader } from '../analysis/heads';
import { DTYPE_BYTES, readFully, readHeader, toFloat32, type DType, type TensorInfo } from './safetensors';
import { readTokensFile } from './tokens';

export interface DumpPaths {
  attention: string;
  tokens: string;
}

/**
 * Where the two files are: a folder holding attention.safetensors + tokens.json, or X.safetensors with
 * X.tokens.json beside it (or tokens.json in the same folder when that is absent).
 */
export function resolveDumpPaths(p: string): DumpPaths {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new EngineError('file-not-found', `${p}: no such file or folder`, { file: p });
  }
  if (st.isDirectory()) return { attention: path.join(p, 'attention.safetensors'), tokens: path.join(p, 'tokens.json') };
  const stem = p.replace(/\.safetensors$/i, '');
  const paired = `${stem}.tokens.json`;
  return { attention: p, tokens: fs.existsSync(paired) ? paired : path.join(path.dirname(p), 'tokens.json') };
}

/** Where one layer's [heads, q, k] block sits in the file. */
interface LayerBlock {
  dtype: DType;
  /** Absolute offset of head 0 of this layer. */
  offset: number;
}

export interface OpenDumpOptions {
  /** Heads kept decoded in memory (LRU); default 4. */
  cacheHeads?: number;
}

export class AttentionDump implements HeadReader {
  readonly layers: number;
  readonly headsPerLayer: number;
  readonly seq: number;
  readonly causal: boolean;
  readonly text: string;
  readonly tokens: Token[];
  readonly model: string;
  /** tokens.json's "language" (a VS Code languageId), when given: the syntax roles' rules. */
  readonly language?: string;
  readonly paths: DumpPaths;
  readonly dtype: DType;
  readonly fileSize: number;
  readonly metadata: Record<string, string>;
  /** How the attention is stored: one [L, H, q, k] tensor or per-layer [H, q, k] tensors. */
  readonly layout: 'stacked' | 'per-layer';
  /** Heads read from disk so far (cache misses), for tests and logs. */
  headReads = 0;
  private fd: number | undefined;
  private readonly blocks: LayerBlock[];
  private readonly cache = new Map<number, Float32Array>();
  private readonly cacheHeads: number;

  static open(p: string, options: OpenDumpOptions = {}): AttentionDump {
    return new AttentionDump(resolveDumpPaths(p), options);
  }

  private constructor(paths: DumpPaths, options: OpenDumpOptions) {
    this.paths = paths;
    this.cacheHeads = Math.max(1, options.cacheHeads ?? 4);
    const toks = readTokensFile(paths.tokens);
    let fd: number;
    try {
      fd = fs.openSync(paths.attention, 'r');
    } catch {
      throw new EngineError('file-not-found', `${paths.attention}: cannot open the attention file (see docs/dump-format.md)`, { file: paths.attention });
    }
    try {
      const file = paths.attention;
      const header = readHeader(fd, file);
      const { layers, heads, q, k, blocks, layout } = layout_(header.tensors, file);
      if (q !== k)
        throw new EngineError('dump-mismatch', `${file}: attention is ${q} queries × ${k} keys; Headlight needs self-attention over one token list (q = k)`, {
          q,
          k,
        });
      if (toks.tokens.length !== q) {
        throw new EngineError('dump-mismatch', `${paths.tokens} lists ${toks.tokens.length} tokens but ${path.basename(file)} covers ${q}`, {
          tokens: toks.tokens.length,
          seq: q,
        });
      }
      if (layers === 0 || heads === 0 || q === 0) throw new EngineError('dump-invalid', `${file}: attention of shape ${layers}×${heads}×${q}×${k} is empty`);
      this.fd = fd;
      this.layers = layers;
      this.headsPerLayer = heads;
      this.seq = q;
      this.blocks = blocks;
      this.layout = layout;
      this.dtype = blocks[0].dtype;
      this.fileSize = header.fileSize;
      this.metadata = header.metadata;
      this.text = toks.text;
      this.tokens = toks.tokens;
      if (toks.language !== undefined) this.language = toks.language;
      this.model = toks.model ?? header.metadata.model ?? path.basename(path.dirname(path.resolve(file)));
      const meta = header.metadata.causal;
      this.causal = toks.causal ?? (meta === 'true' || meta === 'false' ? meta === 'true' : this.looksCausal());
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** With no "causal" given: a decoder's layer-0 head 0 is exactly zero above the diagonal. */
  private looksCausal(): boolean {
    const A = this.head(0, 0);
    const n = this.seq;
    if (n < 2) return true;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (A[i * n + j] !== 0) return false;
    return true;
  }

  head(layer: number, head: number): Float32Array {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.layers || !Number.isInteger(head) || head < 0 || head >= this.headsPerLayer) {
      throw new RangeError(`no head L${layer}H${head} in a ${this.layers}×${this.headsPerLayer} dump`);
    }
    if (this.fd === undefined) throw new Error('the attention dump is closed');
    const key = layer * this.headsPerLayer + head;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    } // refresh LRU order
    const block = this.blocks[layer];
    const count = this.seq * this.seq;
    const bytes = new Uint8Array(count * DTYPE_BYTES[block.dtype]);
    readFully(this.fd, bytes, block.offset + head * bytes.length);
    const A = toFloat32(block.dtype, bytes, count);
    this.headReads++;
    this.cache.set(key, A);
    if (this.cache.size > this.cacheHeads) this.cache.delete(this.cache.keys().next().value as number);
    return A;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.cache.clear();
  }
}

/** Squeeze a leading batch dimension of 1. */
function squeeze(shape: number[], rank: number): number[] | undefined {
  if (shape.length === rank) return shape;
  if (shape.length === rank + 1 && shape[0] === 1) return shape.slice(1);
  return undefined;
}

function layout_(
  tensors: Map<string, TensorInfo>,
  file: string,
): { layers: number; heads: number; q: number; k: number; blocks: LayerBlock[]; layout: 'stacked' | 'per-layer' } {
  const one = tensors.get('attention');
  if (one) {
    const s = squeeze(one.shape, 4);
    if (!s)
      throw new EngineError(
        'dump-invalid',
        `${file}: tensor "attention" has shape [${one.shape.join(', ')}]; expected [layers, heads, q, k] (a leading batch of 1 is allowed)`,
        { file },
      );
    const [L, H, q, k] = s;
    const layerBytes = H * q * k * DTYPE_BYTES[one.dtype];
    return {
      layers: L,
      heads: H,
      q,
      k,
      layout: 'stacked',
      blocks: Array.from({ length: L }, (_, l) => ({ dtype: one.dtype, offset: one.offset + l * layerBytes })),
    };
  }
  const names = [...tensors.keys()].filter((n) => /^layer\.\d+$/.test(n));
  if (names.length === 0) {
    throw new EngineError(
      'dump-invalid',
      `${file}: no tensor "attention" and no "layer.0", "layer.1", … tensors (found: ${[...tensors.keys()].slice(0, 8).join(', ') || 'none'})`,
      { file },
    );
  }
  const blocks: LayerBlock[] = [];
  let dims: number[] | undefined;
  for (let l = 0; l < names.length; l++) {
    const t = tensors.get(`layer.${l}`);
    if (!t)
      throw new EngineError('dump-invalid', `${file}: has ${names.length} layer tensors but no "layer.${l}": layers must be numbered 0…${names.length - 1}`, {
        file,
        missing: l,
      });
    const s = squeeze(t.shape, 3);
    if (!s)
      throw new EngineError(
        'dump-invalid',
        `${file}: tensor "layer.${l}" has shape [${t.shape.join(', ')}]; expected [heads, q, k] (a leading batch of 1 is allowed)`,
        { file },
      );
    if (dims && s.some((d, i) => d !== dims![i])) {
      throw new EngineError(
        'dump-mismatch',
        `${file}: "layer.${l}" is [${s.join(', ')}] but "layer.0" is [${dims.join(', ')}]; every layer needs the same heads and tokens`,
        { file, layer: l },
      );
    }
    dims = s;
    blocks.push({ dtype: t.dtype, offset: t.offset });
  }
  const [H, q, k] = dims!;
  return { layers: names.length, heads: H, q, k, blocks, layout: 'per-layer' };
}
