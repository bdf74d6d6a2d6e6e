"""Tokens -> the token list Headlight reads (docs/dump-format.md, tokens.json): one entry per attention row,
ordinary tokens as UTF-16 [start, end) spans into the text, special tokens (BOS, [CLS], ...) by name."""


def _tolist(v):
    """A list from a list, tuple, numpy array or torch tensor (duck-typed: .tolist())."""
    if v is None:
        return None
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    if hasattr(v, "tolist"):
        return v.tolist()
    return list(v)


def utf16_table(text):
    """table[i] = the UTF-16 offset of code point i (Python indexes code points; VS Code counts UTF-16 units)."""
    table = [0]
    for ch in text:
        table.append(table[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return table


def _special_flags(special, n):
    """special: a mask (one bool or 0/1 per token, like a tokenizer's special_tokens_mask) or token indices."""
    if special is None:
        return None
    s = _tolist(special)
    if len(s) == n and (all(isinstance(x, bool) for x in s) or all(x in (0, 1) for x in s)):
        return [bool(x) for x in s]
    idx = set(int(x) for x in s)
    bad = sorted(i for i in idx if not 0 <= i < n)
    if bad:
        raise ValueError(f"special names token {bad[0]}, but there are {n} tokens")
    return [i in idx for i in range(n)]


def normalize(tokens, text=None, offsets=None, ids=None, special=None):
    """(text, entries): the text the tokens cover and one tokens.json entry per token.

    - tokens: token strings, or tokens.json entries (dicts); may be None when text and offsets are given.
    - offsets: (start, end) per token in Python string indices (code points), as Hugging Face fast tokenizers
      give them; converted to UTF-16. Without ``special``, a token with start == end is special.
    - text without offsets: each token is found in the text after the previous one; a token that is not there
      covers no text (a special token, or an empty span for a piece of a character: '\\ufffd').
    - neither: the text is the tokens joined.
    """
    if tokens is not None and not isinstance(tokens, (str, bytes)):
        tokens = _tolist(tokens)
    if isinstance(tokens, (str, bytes)):
        raise TypeError("tokens must be a list of token strings (or tokens.json entries), not one string")
    offsets = _tolist(offsets)
    if tokens is None:
        if offsets is None or text is None:
            raise ValueError("pass tokens, or text with offsets")
        tokens = [None] * len(offsets)
    n = len(tokens)
    if n == 0:
        raise ValueError("there are no tokens")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    ids = _tolist(ids)
    if ids is not None and len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} tokens")
    flags = _special_flags(special, n)

    if all(isinstance(t, dict) for t in tokens):
        if text is None:
            raise ValueError("tokens.json entries need the text they index: pass text=")
        return text, [_check_entry(t, i, len(text)) for i, t in enumerate(tokens)]
    if any(t is not None and not isinstance(t, str) for t in tokens):
        bad = next(t for t in tokens if t is not None and not isinstance(t, str))
        raise TypeError(f"tokens must be strings; got {type(bad).__name__}")

    def entry(i, start=None, end=None):
        e = {}
        if ids is not None:
            e["id"] = int(ids[i])
        if start is None:
            name = tokens[i] if tokens[i] else f"[special {i}]"
            e.update(text=name, special=True)
        else:
            e.update(start=start, end=end)
        return e

    out = []
    if offsets is not None:
        if text is None:
            raise ValueError("offsets index into the text: pass text= too")
        if len(offsets) != n:
            raise ValueError(f"{len(offsets)} offsets for {n} tokens")
        u16 = utf16_table(text)
        for i, pair in enumerate(offsets):
            if len(pair) != 2:
                raise ValueError(f"offset {i} is {pair!r}; expected (start, end)")
            s, e = int(pair[0]), int(pair[1])
            is_special = flags[i] if flags is not None else s == e
            if is_special:
                out.append(entry(i))
                continue
            if not 0 <= s <= e <= len(text):
                raise ValueError(f"token {i} offsets ({s}, {e}) are outside a text of {len(text)} characters")
            out.append(entry(i, u16[s], u16[e]))
        return text, out

    if text is None:
        text = "".join(t or "" for i, t in enumerate(tokens) if not (flags and flags[i]))
    u16 = utf16_table(text)
    pos = 0
    for i, t in enumerate(tokens):
        t = t or ""
        if flags and flags[i]:
            out.append(entry(i))
            continue
        at = text.find(t, pos) if t else -1
        if at < 0:
            if flags is None and "\ufffd" not in t and t:
                out.append(entry(i))  # not in the text: a special token such as <|endoftext|>
            else:
                out.append(entry(i, u16[pos], u16[pos]))  # part of a character, or an empty token
            continue
        out.append(entry(i, u16[at], u16[at + len(t)]))
        pos = at + len(t)
    return text, out


def _check_entry(t, i, length):
    if t.get("special"):
        return {k: t[k] for k in ("id", "text", "special") if k in t}
    s, e = t.get("start"), t.get("end")
    if not isinstance(s, int) or not isinstance(e, int) or not 0 <= s <= e <= length:
        raise ValueError(f"token {i}: {t!r} needs integer start <= end within the text (UTF-16 offsets), or special: True")
    return {k: t[k] for k in ("id", "start", "end") if k in t}
