"""The attention's bytes in a Headlight output (docs/notebooks.md): float16 or log8, the full matrix or its lower
triangle (causal models), zlib when that is smaller, base64."""
import base64
import zlib

import numpy as np

DTYPES = ("float16", "log8")


#: log8's two slopes: 16 codes per octave from 1 down to 2^-7, then 4 per octave down to 2^-24 (docs/notebooks.md).
_KNEE_CODE, _FLOOR_CODE = 143, 75


def log8(a):
    """The log8 code of weights in [0, 1]: 0 for 0; round(255 + 16 log2 w) for w >= 2^-7 (within 2.2 %);
    round(143 + 4 (log2 w + 7)) below (within 9 %); weights under 2^-24.125 become 0."""
    w = a.astype(np.float64)
    with np.errstate(divide="ignore"):
        l = np.log2(w)
    c = np.where(l >= -7, 255.0 + 16.0 * l, _KNEE_CODE + 4.0 * (l + 7.0))
    c = np.rint(np.nan_to_num(c, neginf=0.0))
    c = np.where(c < _FLOOR_CODE, 0.0, c)
    return np.clip(c, 0, 255).astype(np.uint8)


def log8_decode(codes):
    """float32 weights of log8 codes, before the rows are renormalised (decode() does that)."""
    c = np.asarray(codes).astype(np.float64)
    w = np.where(c >= _KNEE_CODE, np.exp2((c - 255.0) / 16.0), np.exp2(-7.0 + (c - _KNEE_CODE) / 4.0))
    return np.where(c == 0, 0.0, w).astype(np.float32)


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
    if att["dtype"] == "log8":  # as Headlight's decoder does: each row renormalised (within 0.1 of 1)
        s = out.sum(-1, keepdims=True, dtype=np.float64)
        ok = (s > 0) & (np.abs(s - 1) <= 0.1)
        out = np.where(ok, out / np.where(ok, s, 1), out).astype(np.float32)
    return out
