// Writes safetensors files from JS for tests: well-formed dumps of any size (generated at test time, never
// committed) and hand-broken ones. Same layout as safetensors.torch.save_file / scripts/fixtures/make-dump.py.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttentionSet, Token } from '../../../../src/engine/types';

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function safetensorsBytes(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  if (metadata) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const h = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...Object.values(tensors).map((t) => Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length))]);
}

export const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A character-level token list with a BOS, as tokens.json. */
export function charTokens(text: string): Token[] {
  return [
    { id: 0, text: '<bos>', start: -1, end: -1, special: true },
    ...[...text].map((_, i) => ({ id: text.charCodeAt(i) % 256, text: text[i], start: i, end: i + 1, special: false })),
  ];
}

export function writeTokens(file: string, text: string, tokens: Token[], extra: Record<string, unknown> = {}): void {
  fs.writeFileSync(file, JSON.stringify({ text, tokens, ...extra }));
}

/**
 * A dump folder from an AttentionSet, streamed layer by layer (the large-dump generator: 4×4×512² F32 is
 * 16 MiB, written at test time into a temp folder).
 */
export function writeDumpFolder(dir: string, att: AttentionSet, text: string, tokens: Token[], layout: 'stacked' | 'per-layer' = 'stacked'): string {
  fs.mkdirSync(dir, { recursive: true });
  const layerBytes = att.headsPerLayer * att.seq * att.seq * 4;
  const header: Record<string, unknown> =
    layout === 'stacked'
      ? { attention: { dtype: 'F32', shape: [att.layers, att.headsPerLayer, att.seq, att.seq], data_offsets: [0, att.layers * layerBytes] } }
      : Object.fromEntries(
          att.data.map((_, l) => [
            `layer.${l}`,
            { dtype: 'F32', shape: [att.headsPerLayer, att.seq, att.seq], data_offsets: [l * layerBytes, (l + 1) * layerBytes] },
          ]),
        );
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const fd = fs.openSync(path.join(dir, 'attention.safetensors'), 'w');
  try {
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    for (const layer of att.data) fs.writeSync(fd, f32(layer));
  } finally {
    fs.closeSync(fd);
  }
  writeTokens(path.join(dir, 'tokens.json'), text, tokens, { causal: att.causal, model: 'generated' });
  return dir;
}
