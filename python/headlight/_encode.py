"""The attention's bytes in a Headlight output (docs/notebooks.md): float16 or log8, the full matrix or its lower
triangle (causal models), zlib when that is smaller, base64."""
import base64
import zlib

import numpy as np

DTYPES = ("float16", "log8")


def log8(a):
    """The log8 code of weights in [0, 1]: 0 for 0, else round(255 + 12 * log2(w)) clipped to 1..255 - twelve codes
    per octave, so a decoded weight is within 2.9 % of the original; weights below 4.1e-7 become 0."""
    with np.errstate(divide="ignore"):
        c = np.rint(255.0 + 12.0 * np.log2(a.astype(np.float64)))
    return np.clip(np.nan_to_num(c, neginf=0.0), 0, 255).astype(np.uint8)


def log8_decode(codes):
    """float32 weights of log8 codes (what Headlight's decoder computes)."""
    c = np.asarray(codes)
    w = np.exp2((c.astype(np.float64) - 255.0) / 12.0).astype(np.float32)
    return np.where(c == 0, np.float32(0), w)


def stored(a, layout):
    """[layers, heads, m]: every weight (full), or each row's keys up to the query (lower, row-major)."""
    if layout == "full":
        return a.reshape(a.shape[0], a.shape[1], -1)
    r, c = np.tril_indices(a.shape[-1])
    return a[:, :, r, c]


def raw_bytes(a, dtype, layout):
    s = stored(a, layout)
    if dtype == "float16":
        return s.astype("<f2").tobytes()
    if dtype == "log8":
        return log8(s).tobytes()
    raise ValueError(f"dtype must be one of {DTYPES}; got {dtype!r}")


def encode(a, causal, dtype):
    """The output's "attention" object for float32 attention a [L, H, n, n]."""
    layout = "lower" if causal else "full"
    raw = raw_bytes(a, dtype, layout)
    packed = zlib.compress(raw, 6)
    compression = "zlib" if len(packed) < len(raw) else "none"
    data = packed if compression == "zlib" else raw
    return {"dtype": dtype, "layout": layout, "compression": compression, "data": base64.b64encode(data).decode("ascii")}


def decode(att, shape):
    """float32 [L, H, n, n] from an output's "attention" object (the tests read outputs back with it)."""
    L, H, n = shape
    raw = base64.b64decode(att["data"], validate=True)
    if att["compression"] == "zlib":
        raw = zlib.decompress(raw)
    per = n * (n + 1) // 2 if att["layout"] == "lower" else n * n
    if att["dtype"] == "float16":
        vals = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    else:
        vals = log8_decode(np.frombuffer(raw, dtype=np.uint8))
    vals = vals.reshape(L, H, per)
    out = np.zeros((L, H, n, n), dtype=np.float32)
    if att["layout"] == "lower":
        r, c = np.tril_indices(n)
        out[:, :, r, c] = vals
    else:
        out[:] = vals.reshape(L, H, n, n)
    return out
