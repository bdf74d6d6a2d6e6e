"""Attention dumps (docs/dump-format.md): attention.safetensors + tokens.json, the files Headlight's
Open Attention Dump and `headlight explain --dump` read. safetensors written by hand (it is an 8-byte header
length, a JSON header and the raw little-endian data), so numpy stays the only requirement."""
import json
import os
import struct

import numpy as np

_DTYPES = {"float32": ("F32", "<f4"), "float16": ("F16", "<f2")}


def paths(path):
    """(attention file, tokens file) for a folder or a NAME.safetensors path."""
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        return path, path[: -len(".safetensors")] + ".tokens.json"
    return os.path.join(path, "attention.safetensors"), os.path.join(path, "tokens.json")


def write(path, a, text, tokens, model=None, causal=True, language=None, dtype="float32"):
    """Writes attention a [L, H, n, n] and its tokens; returns the attention file's path."""
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float16'; got {dtype!r}")
    st, np_dtype = _DTYPES[dtype]
    att_path, tok_path = paths(path)
    folder = os.path.dirname(att_path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    nbytes = a.size * np.dtype(np_dtype).itemsize
    meta = {"causal": "true" if causal else "false"}
    if model:
        meta["model"] = str(model)
    header = json.dumps({"attention": {"dtype": st, "shape": list(a.shape), "data_offsets": [0, nbytes]}, "__metadata__": meta}).encode()
    header += b" " * (-len(header) % 8)
    with open(att_path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        for layer in a:  # a layer at a time: a 16 GiB dump is never converted whole
            f.write(np.ascontiguousarray(layer, dtype=np_dtype).tobytes())
    doc = {"text": text, "tokens": tokens, "causal": bool(causal)}
    if model:
        doc["model"] = str(model)
    if language:
        doc["language"] = language
    with open(tok_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    return att_path
