"""Show attention from a Python notebook cell in Headlight (VS Code): the arcs, the head catalog with each head's
roles and their evidence, and the per-layer charts, analysed exactly as Headlight's panel does.

    import headlight
    headlight.show(tokens, attention, text=text, offsets=offsets, model="gpt2")

Adapters: ``from_huggingface`` (``output_attentions=True`` and a fast tokenizer's offsets),
``from_transformer_lens`` (an ActivationCache's attention patterns); ``dump`` writes an attention dump.
The output format: docs/notebooks.md in the Headlight repository.
"""
import hashlib
import json
import os
import warnings

from . import _attention, _dump, _encode, _png, _tokens
from ._adapters import from_huggingface, from_transformer_lens

__all__ = ["show", "dump", "from_huggingface", "from_transformer_lens", "AttentionView", "MIME", "NOTEBOOK_LIMIT"]
__version__ = "0.1.0"

#: The MIME type Headlight's notebook renderer draws.
MIME = "application/vnd.headlight.attention+json"
FORMAT_VERSION = 1
#: An output's size in the .ipynb is kept under this; larger attention goes to a dump file beside the notebook.
NOTEBOOK_LIMIT = 10_000_000
#: Where attention too large for the notebook goes when show() is not told (relative to the working folder).
DUMP_FOLDER = "headlight-dumps"


class AttentionView:
    """What show() returns: displayed by IPython through _repr_mimebundle_ (the Headlight MIME type, a PNG of every
    head's attention, and a plain-text summary for front ends without Headlight)."""

    def __init__(self, payload, png, summary):
        self.payload = payload
        self._png = png
        self.summary = summary

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {MIME: self.payload, "image/png": _b64(self._png), "text/plain": self.summary}
        return {k: v for k, v in bundle.items() if (include is None or k in include) and (exclude is None or k not in exclude)}

    def __repr__(self):
        return self.summary

    @property
    def nbytes(self):
        """About how many bytes this output takes in a saved .ipynb."""
        return _size(self.payload, self._png, self.summary)

    @property
    def inline(self):
        """True when the attention is in the output itself, False when the output points to a dump file."""
        return "attention" in self.payload


def _b64(data):
    import base64
    return base64.b64encode(data).decode("ascii")


def _size(payload, png, summary):
    # nbformat writes outputs with indent=1; the base64 data is one line either way (measured apart: it is most of it).
    att = payload.get("attention")
    rest = {**payload, "attention": {**att, "data": ""}} if att else payload
    data = len(att["data"]) if att else 0
    return len(json.dumps(rest, indent=1, ensure_ascii=False).encode("utf-8")) + data + (len(png) + 2) // 3 * 4 + len(summary.encode("utf-8")) + 200


def _model_name(model):
    if model is None or isinstance(model, str):
        return model
    for get in (lambda m: m.name_or_path, lambda m: m.config._name_or_path, lambda m: m.cfg.model_name):
        try:
            name = get(model)
        except AttributeError:
            continue
        if isinstance(name, str) and name:
            return name
    return type(model).__name__


def _prepare(tokens, attention, text, offsets, ids, special, causal, layers, heads, batch_index):
    text, entries = _tokens.normalize(tokens, text=text, offsets=offsets, ids=ids, special=special)
    a = _attention.to_array(attention, batch_index=batch_index)
    a, ln, hn = _attention.select(a, layers, heads)
    causal = _attention.check(a, entries, causal=causal, layer_numbers=ln, head_numbers=hn)
    return text, entries, a, ln, hn, causal


def show(tokens, attention, text=None, offsets=None, model=None, *, ids=None, special=None, causal=None, language=None,
         layers=None, heads=None, precision="auto", dump=None, dump_dtype="float16", limit=NOTEBOOK_LIMIT, batch_index=0):
    """Attention for Headlight's notebook renderer. Display the result (the last expression of a cell, or
    IPython.display.display).

    tokens     token strings (or tokens.json entries); None with text and offsets
    attention  [layers, heads, n, n] (also [n, n], [heads, n, n], with a batch of 1, a list of per-layer arrays as
               Hugging Face returns them, a TransformerLens ActivationCache); numpy or torch
    text       the text the tokens cover (else the tokens joined)
    offsets    (start, end) per token in Python string indices, as fast tokenizers return them
    model      a name (or the model object) shown with the attention
    ids        token ids (Headlight uses them to find repeated tokens)
    special    which tokens are special (BOS, [CLS]...): a mask or indices; default: tokens with an empty span
    causal     True for decoders, False for encoders; default: read from the attention (zeros above the diagonal)
    language   the text's VS Code languageId ("python", "typescript"...) for the syntax roles; default: English prose
    layers, heads  send only these (model numbers)
    precision  "auto" (float16 when the output fits `limit`, else log8: 8-bit, within 2.9 % of each weight),
               "float16" or "log8"
    dump       a folder (or NAME.safetensors) to write the attention to instead, the output keeping only its path;
               False to refuse that. Attention that does not fit `limit` goes to headlight-dumps/ unless told.
    """
    if precision not in ("auto",) + _encode.DTYPES:
        raise ValueError(f"precision must be 'auto', 'float16' or 'log8'; got {precision!r}")
    text, entries, a, ln, hn, causal = _prepare(tokens, attention, text, offsets, ids, special, causal, layers, heads, batch_index)
    L, H, n, _ = a.shape
    name = _model_name(model)
    payload = {"version": FORMAT_VERSION, "text": text, "tokens": entries, "shape": [L, H, n], "causal": causal}
    if name:
        payload["model"] = name
    if language:
        payload["language"] = language
    if ln is not None:
        payload["layers"] = ln
    if hn is not None:
        payload["heads"] = hn
    png = _png.heads_png(a)
    where = None
    if dump is None or dump is False:
        for dtype in (_encode.DTYPES if precision == "auto" else (precision,)):
            att = _encode.encode(a, causal, dtype)
            view = AttentionView({**payload, "attention": att}, png, _summary(payload, dtype, None))
            if view.nbytes <= limit:
                return view
        if dump is False:
            raise ValueError(f"this attention takes {view.nbytes / 1e6:.1f} MB in the notebook, over the {limit / 1e6:.1f} MB limit; pass dump='folder' to write it beside the notebook, or send fewer layers (layers=[...])")
        digest = hashlib.sha1(a.tobytes()[:1 << 20] + json.dumps(entries).encode() + repr(a.shape).encode()).hexdigest()[:12]
        dump = os.path.join(DUMP_FOLDER, digest)
        warnings.warn(f"headlight: the attention does not fit the {limit / 1e6:.0f} MB notebook limit; it was written to {dump} and the output points to it")
    where = _dump.write(dump, a, text, entries, model=name, causal=causal, language=language, dtype=dump_dtype)
    given = os.fspath(dump)
    payload["dump"] = {"path": given if not os.path.isabs(given) else os.path.relpath(given), "absolutePath": os.path.abspath(given)}
    return AttentionView(payload, png, _summary(payload, dump_dtype, where))


def dump(path, tokens, attention, text=None, offsets=None, model=None, *, ids=None, special=None, causal=None, language=None,
         layers=None, heads=None, dtype="float32", batch_index=0):
    """Write an attention dump (attention.safetensors + tokens.json in the folder `path`, or NAME.safetensors +
    NAME.tokens.json) for Open Attention Dump and `headlight explain --dump`. Same arguments as show(); dtype
    "float32" or "float16". Returns the path of the .safetensors file."""
    text, entries, a, _, _, causal = _prepare(tokens, attention, text, offsets, ids, special, causal, layers, heads, batch_index)
    return _dump.write(path, a, text, entries, model=_model_name(model), causal=causal, language=language, dtype=dtype)


def _summary(payload, dtype, where):
    L, H, n = payload["shape"]
    model = payload.get("model") or "attention"
    kind = "causal" if payload["causal"] else "bidirectional"
    place = f"in the dump file {where}" if where else f"{dtype}, in this output"
    return (f"Headlight: {model}, {L} layers x {H} heads over {n} tokens ({kind}; {place}). In VS Code with the Headlight "
            "extension this output shows the arcs, the head catalog and each head's roles; the image shows every head's "
            "attention (rows: layers, columns: heads).")
