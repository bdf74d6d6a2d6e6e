"""Adapters from the two libraries people run attention with in notebooks. Neither is imported: the objects are
read by the attributes they document, so this module needs neither installed."""
from ._tokens import _tolist


def _unbatch(v, rank):
    """One example of a tokenizer's output (rank 1: ids, masks; rank 2: offsets), batched ([1, ...]) or not."""
    v = _tolist(v)
    depth, x = 0, v
    while isinstance(x, (list, tuple)) and x:
        x, depth = x[0], depth + 1
    if depth == rank + 1:
        if len(v) != 1:
            raise ValueError(f"the encoding holds a batch of {len(v)} texts; Headlight shows one at a time")
        return v[0]
    return v


def from_huggingface(outputs, encoding, text, tokenizer=None, model=None, **kwargs):
    """show() for a Hugging Face model run on one text:

        enc = tokenizer(text, return_tensors="pt", return_offsets_mapping=True, return_special_tokens_mask=True)
        offsets, special = enc.pop("offset_mapping"), enc.pop("special_tokens_mask")  # the model takes neither
        out = model(**enc, output_attentions=True)   # load the model with attn_implementation="eager"
        headlight.from_huggingface(out, {**enc, "offset_mapping": offsets, "special_tokens_mask": special}, text, tokenizer, model)

    `encoding` needs input_ids and offset_mapping (a fast tokenizer's offsets; code points, converted to UTF-16
    here); special_tokens_mask, when there, marks BOS/[CLS]/[SEP]. Other keyword arguments go to show()."""
    attentions = getattr(outputs, "attentions", None)
    if attentions is None and isinstance(outputs, dict):
        attentions = outputs.get("attentions")
    if attentions is None:
        raise ValueError("the model returned no attentions: call it with output_attentions=True, and load it with "
                         "attn_implementation='eager' (SDPA and flash attention do not return attention weights)")
    if "offset_mapping" not in encoding:
        raise ValueError("the encoding has no offset_mapping: call the tokenizer with return_offsets_mapping=True (a fast tokenizer)")
    ids = _unbatch(encoding["input_ids"], 1)
    offsets = _unbatch(encoding["offset_mapping"], 2)
    special = _unbatch(encoding["special_tokens_mask"], 1) if "special_tokens_mask" in encoding else None
    if special is None and tokenizer is not None and getattr(tokenizer, "all_special_ids", None) is not None:
        specials = set(tokenizer.all_special_ids)
        special = [i in specials for i in ids]
    names = tokenizer.convert_ids_to_tokens(ids) if tokenizer is not None else None
    if "causal" not in kwargs and model is not None and not isinstance(model, str):
        cfg = getattr(model, "config", None)
        if cfg is not None and getattr(cfg, "is_encoder_decoder", False):
            raise ValueError("an encoder-decoder model has self-attention in two stacks and cross-attention: pass one "
                             "stack's attention (outputs.encoder_attentions or outputs.decoder_attentions) to headlight.show")
    from . import show
    return show(names, attentions, text=text, offsets=offsets, ids=ids, special=special, model=model, **kwargs)


def from_transformer_lens(cache, model, text, prepend_bos=None, **kwargs):
    """show() for a TransformerLens HookedTransformer run with run_with_cache on one text:

        logits, cache = model.run_with_cache(text)
        headlight.from_transformer_lens(cache, model, text)

    The attention is each layer's hook_pattern; the tokens are model.to_str_tokens(text), found in the text in
    order; the BOS TransformerLens prepends (cfg.default_prepend_bos) is a special token."""
    cfg = model.cfg
    bos = cfg.default_prepend_bos if prepend_bos is None else prepend_bos
    ids = _unbatch(model.to_tokens(text, prepend_bos=bos), 1)
    strs = list(model.to_str_tokens(text, prepend_bos=bos))
    if len(strs) != len(ids):
        raise ValueError(f"to_str_tokens gave {len(strs)} tokens and to_tokens {len(ids)}")
    kwargs.setdefault("special", [bool(bos) and i == 0 for i in range(len(strs))])
    kwargs.setdefault("model", getattr(cfg, "model_name", None))
    from . import show
    return show(strs, cache, text=text, ids=ids, **kwargs)
