"""Attention in any of the shapes Python libraries give it -> one float32 numpy array [layers, heads, n, n],
checked the way Headlight checks it (finite, in [0, 1], every row summing to 1)."""
import re

import numpy as np

#: A row may sum to 1 within this (float32 / bfloat16 softmax outputs are well inside it).
ROW_TOLERANCE = 0.01

_PATTERN_KEY = re.compile(r"^blocks\.(\d+)\.attn\.hook_pattern$")


def _to_numpy(t):
    """numpy float32 from a numpy array, a torch tensor (any dtype, any device) or nested lists."""
    if hasattr(t, "detach"):  # torch: bfloat16 has no numpy dtype, so go through float32 on the CPU
        t = t.detach().float().cpu().numpy()
    a = np.asarray(t)
    if a.dtype == object:
        raise TypeError("attention must be numbers (a numpy array, a torch tensor, or a list/tuple of them per layer)")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"attention must be a float array; got dtype {a.dtype}")
    return a.astype(np.float32, copy=False)


def _pattern_layers(cache):
    """TransformerLens: the attention patterns of an ActivationCache (or the plain dict run_with_cache can return)."""
    d = getattr(cache, "cache_dict", cache)
    found = {}
    for k in d.keys():
        m = _PATTERN_KEY.match(str(k))
        if m:
            found[int(m.group(1))] = k
    if not found:
        raise ValueError("this cache holds no attention patterns (blocks.N.attn.hook_pattern): run model.run_with_cache(text) without a names_filter that drops them")
    missing = [l for l in range(max(found) + 1) if l not in found]
    if missing:
        raise ValueError(f"the cache has patterns for layers {sorted(found)} but not layer {missing[0]}: pass layers= to send some of them")
    return [d[found[l]] for l in range(len(found))]


def _is_cache(x):
    d = getattr(x, "cache_dict", None)
    if d is not None:
        return True
    return isinstance(x, dict) and any(_PATTERN_KEY.match(str(k)) for k in x.keys())


def to_array(attention, batch_index=0):
    """[layers, heads, n, n] float32 from:
    - an array of shape [n, n], [heads, n, n], [layers, heads, n, n] or [batch, layers, heads, n, n];
    - a list/tuple with one array per layer, each [heads, n, n] or [batch, heads, n, n] (Hugging Face
      ``outputs.attentions``);
    - a TransformerLens ActivationCache (its ``blocks.N.attn.hook_pattern`` entries).
    A batch dimension is read at ``batch_index``."""
    if _is_cache(attention):
        attention = _pattern_layers(attention)
    if isinstance(attention, (list, tuple)):
        if not attention:
            raise ValueError("attention is an empty list: no layers")
        layers = [_to_numpy(a) for a in attention]
        shapes = {a.shape for a in layers}
        if len(shapes) != 1:
            raise ValueError(f"the layers have different shapes: {sorted(shapes)}")
        a = layers[0]
        if a.ndim == 4:
            layers = [_pick(x, batch_index) for x in layers]
        elif a.ndim != 3:
            raise ValueError(f"each layer's attention must be [heads, n, n] or [batch, heads, n, n]; got {list(a.shape)}")
        out = np.stack(layers)
    else:
        a = _to_numpy(attention)
        if a.ndim == 2:
            out = a[None, None]
        elif a.ndim == 3:
            out = a[None]
        elif a.ndim == 4:
            out = a
        elif a.ndim == 5:
            out = _pick(a, batch_index)
        else:
            raise ValueError(f"attention of shape {list(a.shape)}: expected [n, n], [heads, n, n], [layers, heads, n, n] or [batch, layers, heads, n, n]")
    if out.shape[-1] != out.shape[-2]:
        raise ValueError(f"attention is {out.shape[-2]} queries x {out.shape[-1]} keys; Headlight needs self-attention over one token list (q = k)")
    if min(out.shape) == 0:
        raise ValueError(f"attention of shape {list(out.shape)} is empty")
    return np.ascontiguousarray(out, dtype=np.float32)


def _pick(a, i):
    if not -a.shape[0] <= i < a.shape[0]:
        raise ValueError(f"batch_index {i} is outside a batch of {a.shape[0]}")
    return a[i]


def select(a, layers=None, heads=None):
    """The layers / heads asked for (model numbers), and those numbers (None = all, in order)."""
    L, H = a.shape[:2]
    ln = hn = None
    if layers is not None:
        ln = [int(x) for x in layers]
        bad = [x for x in ln if not 0 <= x < L]
        if bad or len(set(ln)) != len(ln) or not ln:
            raise ValueError(f"layers={layers!r}: choose distinct layers among 0..{L - 1}")
        a = a[ln]
    if heads is not None:
        hn = [int(x) for x in heads]
        bad = [x for x in hn if not 0 <= x < H]
        if bad or len(set(hn)) != len(hn) or not hn:
            raise ValueError(f"heads={heads!r}: choose distinct heads among 0..{H - 1}")
        a = a[:, hn]
    return np.ascontiguousarray(a), ln, hn


def check(a, tokens, causal=None, layer_numbers=None, head_numbers=None):
    """Raises ValueError naming the first head and row that is not attention; returns whether it is causal.
    One layer at a time, so the checks never hold more than a layer's worth of temporaries."""
    n = a.shape[-1]
    if len(tokens) != n:
        raise ValueError(f"the attention covers {n} tokens but there are {len(tokens)} tokens: one row and one column per token")
    name = lambda l, h: f"L{layer_numbers[l] if layer_numbers else l}H{head_numbers[h] if head_numbers else h}"
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    any_above = None
    for l, layer in enumerate(a):
        bad = ~np.isfinite(layer)
        if bad.any():
            h, i = (int(x) for x in np.argwhere(bad)[0][:2])
            raise ValueError(f"{name(l, h)}, row {i}: the attention holds NaN or infinite weights (a fully masked row, or an overflow)")
        bad = (layer < 0) | (layer > 1 + ROW_TOLERANCE)
        if bad.any():
            h, i = (int(x) for x in np.argwhere(bad)[0][:2])
            raise ValueError(f"{name(l, h)}, row {i}: weights outside [0, 1]; pass attention probabilities (after the softmax), not scores")
        sums = layer.sum(-1, dtype=np.float64)
        off = np.abs(sums - 1) > ROW_TOLERANCE
        if off.any():
            h, i = (int(x) for x in np.argwhere(off)[0])
            raise ValueError(f"{name(l, h)}, row {i}: the weights sum to {sums[h, i]:.4f}; each query's attention must sum to 1 (+/- {ROW_TOLERANCE})")
        above = (layer[:, upper] != 0).any(-1)
        if causal and above.any():
            raise ValueError(f"causal=True, but {name(l, int(np.argmax(above)))} attends to later tokens")
        any_above = bool(above.any()) or bool(any_above)
    return (not any_above) if causal is None else bool(causal)
