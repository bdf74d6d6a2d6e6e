/**
 * The ArrayBuffers behind `views`, each once (heads recomputed together are views into one buffer), for a
 * postMessage transfer list. Views into a SharedArrayBuffer are left out: they are shared, not moved.
 */
export function transferList(views: readonly ArrayBufferView[]): ArrayBuffer[] {
  return [...new Set(views.flatMap((v) => (v.buffer instanceof ArrayBuffer ? [v.buffer] : [])))];
}
