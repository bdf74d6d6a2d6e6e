// The model as the engine's session sees it: the file's bytes followed by the engine's additions (graph
// outputs, the next-token nodes), each a serialised ModelProto holding only what it adds — protobuf
// concatenation merges them into the model. Appending by Buffer.concat copied a 650 MB model once per
// addition (three copies alive at once: a 2.6 GB peak before any run, against the floor's 1.8 GB); here the
// file is read once into a buffer with room after it and the additions are written into that room.
import * as fs from 'node:fs';

/** Room read after a model's bytes for its additions (a few KB each, far more for thousands of outputs). */
export const ADDITION_ROOM = 4 * 2 ** 20;

const EMPTY = new Uint8Array(0);

/** The addition alone of a helper that returns `original` + its addition (addCaptureOutputs, addGraphOutputs). */
export function additionOf(add: (original: Uint8Array) => Uint8Array): Uint8Array {
  return add(EMPTY);
}

/** The `size` bytes of `file` in a buffer with `room` after them (readModelBytes, after its checks). */
export function readWithRoom(file: string, size: number, room = ADDITION_ROOM): Buffer {
  const out = Buffer.allocUnsafe(size + room);
  const fd = fs.openSync(file, 'r');
  try {
    for (let at = 0; at < size;) {
      const got = fs.readSync(fd, out, at, size - at, at);
      if (got === 0) throw new Error(`${file} changed while it was read`);
      at += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out.subarray(0, size);
}

/**
 * The model followed by `additions`: written into the room after the model's bytes when they fit (and `model`
 * came from withRoom), else one concatenation. The room is shared: the result is valid until the next call.
 */
export function appendToModel(model: Buffer, ...additions: Uint8Array[]): Buffer {
  const size = additions.reduce((a, b) => a + b.length, 0);
  const room = model.buffer.byteLength - model.byteOffset - model.length;
  if (size > room) return Buffer.concat([model, ...additions]);
  const whole = Buffer.from(model.buffer, model.byteOffset, model.length + size);
  let at = model.length;
  for (const a of additions) { whole.set(a, at); at += a.length; }
  return whole;
}
