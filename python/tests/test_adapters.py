"""The Hugging Face and TransformerLens adapters, on a tiny torch transformer built here (Debian's python3-torch) and
on objects shaped like those libraries' outputs: BatchEncoding (a dict of [1, n] / [1, n, 2] LongTensors),
a ModelOutput whose .attentions is a tuple of [1, heads, n, n] tensors, an ActivationCache read through
cache["pattern", layer] / cache.cache_dict, and a HookedTransformer's cfg, to_tokens and to_str_tokens."""
import re
import unittest

import numpy as np
import torch

import headlight
from headlight import _encode

TEXT = "Hello 😀 world, hello world"


class ToyFastTokenizer:
    """Words, punctuation and emoji with a leading space folded in, like a byte-level BPE; offsets in code points
    (what fast tokenizers return); a BOS with offsets (0, 0)."""
    bos_id = 0
    all_special_ids = [0]

    def __init__(self):
        self.vocab = {"<s>": 0}

    def pieces(self, text):
        return [(m.start(), m.end()) for m in re.finditer(r" ?\w+| ?[^\w\s]+", text)]

    def __call__(self, text, return_tensors=None, return_offsets_mapping=False, return_special_tokens_mask=False):
        spans = [(0, 0)] + self.pieces(text)
        ids = [0] + [self.vocab.setdefault(text[s:e], len(self.vocab)) for s, e in spans[1:]]
        enc = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
        if return_offsets_mapping:
            enc["offset_mapping"] = torch.tensor([spans])
        if return_special_tokens_mask:
            enc["special_tokens_mask"] = torch.tensor([[1] + [0] * (len(ids) - 1)])
        return enc

    def convert_ids_to_tokens(self, ids):
        inv = {v: k for k, v in self.vocab.items()}
        return [inv[i].replace(" ", "Ġ") for i in ids]


class TinyCausalLM(torch.nn.Module):
    """Two layers of causal softmax attention over learned embeddings: attention the model computes itself."""

    def __init__(self, vocab=64, d=16, heads=2, layers=2):
        super().__init__()
        torch.manual_seed(0)
        self.heads, self.dh = heads, d // heads
        self.emb = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(64, d)
        self.qk = torch.nn.ModuleList([torch.nn.Linear(d, 2 * d) for _ in range(layers)])

    def forward(self, input_ids, attention_mask=None, output_attentions=False):
        n = input_ids.shape[1]
        x = self.emb(input_ids) + self.pos(torch.arange(n))[None]
        atts = []
        for qk in self.qk:
            q, k = qk(x).split(x.shape[-1], dim=-1)
            q = q.view(1, n, self.heads, self.dh).transpose(1, 2)
            k = k.view(1, n, self.heads, self.dh).transpose(1, 2)
            s = (q @ k.transpose(-1, -2)) / self.dh ** 0.5
            s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
            a = torch.softmax(s, -1)
            atts.append(a)
            x = x + (a @ k).transpose(1, 2).reshape(1, n, -1)
        return type("CausalLMOutput", (), {"attentions": tuple(atts) if output_attentions else None})()


def utf16_span(text, start, end):
    """The text of a UTF-16 [start, end) span, computed from the UTF-16 bytes themselves."""
    return text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le")


class HuggingFace(unittest.TestCase):
    def setUp(self):
        self.tok = ToyFastTokenizer()
        self.model = TinyCausalLM().eval()
        enc = self.tok(TEXT, return_tensors="pt", return_offsets_mapping=True, return_special_tokens_mask=True)
        self.offsets, self.special = enc.pop("offset_mapping"), enc.pop("special_tokens_mask")
        with torch.no_grad():
            self.out = self.model(**enc, output_attentions=True)
        self.enc = {**enc, "offset_mapping": self.offsets, "special_tokens_mask": self.special}

    def test_attention_tokens_and_spans(self):
        v = headlight.from_huggingface(self.out, self.enc, TEXT, self.tok, "toy-lm")
        p = v.payload
        n = self.enc["input_ids"].shape[1]
        self.assertEqual((p["shape"], p["causal"], p["model"]), ([2, 2, n], True, "toy-lm"))
        expected = torch.stack([a[0] for a in self.out.attentions]).numpy().astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(_encode.decode(p["attention"], p["shape"]), expected)
        self.assertEqual(p["tokens"][0], {"id": 0, "text": "<s>", "special": True})
        pieces = [utf16_span(TEXT, t["start"], t["end"]) for t in p["tokens"][1:]]
        self.assertEqual(pieces, ["Hello", " 😀", " world", ",", " hello", " world"])
        self.assertEqual([t["id"] for t in p["tokens"]], self.enc["input_ids"][0].tolist())
        self.assertEqual(p["tokens"][6]["id"], p["tokens"][3]["id"])  # " world" twice: one id

    def test_special_tokens_from_the_tokenizer_without_a_mask(self):
        enc = {k: v for k, v in self.enc.items() if k != "special_tokens_mask"}
        v = headlight.from_huggingface(self.out, enc, TEXT, self.tok)
        self.assertTrue(v.payload["tokens"][0]["special"])

    def test_refusals_say_what_to_do(self):
        with torch.no_grad():
            no_att = self.model(self.enc["input_ids"])
        with self.assertRaisesRegex(ValueError, "output_attentions=True"):
            headlight.from_huggingface(no_att, self.enc, TEXT)
        with self.assertRaisesRegex(ValueError, "return_offsets_mapping=True"):
            headlight.from_huggingface(self.out, {"input_ids": self.enc["input_ids"]}, TEXT)
        two = {**self.enc, "input_ids": self.enc["input_ids"].repeat(2, 1)}
        with self.assertRaisesRegex(ValueError, "batch of 2"):
            headlight.from_huggingface(self.out, two, TEXT)

    def test_bfloat16_attention(self):
        bf = type("Out", (), {"attentions": tuple(a.to(torch.bfloat16) for a in self.out.attentions)})()
        p = headlight.from_huggingface(bf, self.enc, TEXT, self.tok).payload
        expected = torch.stack([a[0] for a in bf.attentions]).float().numpy().astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(_encode.decode(p["attention"], p["shape"]), expected)


class ActivationCache:
    """TransformerLens' ActivationCache as far as Headlight reads it: cache_dict and cache["pattern", layer]."""

    def __init__(self, patterns):
        self.cache_dict = {f"blocks.{l}.attn.hook_pattern": p for l, p in enumerate(patterns)}
        self.cache_dict.update({f"blocks.{l}.hook_resid_post": torch.zeros(1, p.shape[-1], 16) for l, p in enumerate(patterns)})

    def __getitem__(self, key):
        if isinstance(key, tuple):
            name, layer = key
            return self.cache_dict[f"blocks.{layer}.attn.hook_{name}"]
        return self.cache_dict[key]


class HookedTransformer:
    """A HookedTransformer's surface: cfg, to_tokens, to_str_tokens, and run_with_cache over the tiny model."""

    def __init__(self, model, tok):
        self.model, self.tok = model, tok
        self.cfg = type("Cfg", (), {"n_layers": 2, "default_prepend_bos": True, "model_name": "tiny-tl"})()

    def to_tokens(self, text, prepend_bos=True):
        ids = self.tok(text)["input_ids"]
        return ids if prepend_bos else ids[:, 1:]

    def to_str_tokens(self, text, prepend_bos=True):
        strs = ["<|endoftext|>"] + [text[s:e] for s, e in self.tok.pieces(text)]
        return strs if prepend_bos else strs[1:]

    def run_with_cache(self, text):
        with torch.no_grad():
            out = self.model(self.to_tokens(text), output_attentions=True)
        return None, ActivationCache(out.attentions)


class TransformerLens(unittest.TestCase):
    def test_patterns_and_tokens(self):
        model = HookedTransformer(TinyCausalLM().eval(), ToyFastTokenizer())
        _, cache = model.run_with_cache(TEXT)
        p = headlight.from_transformer_lens(cache, model, TEXT).payload
        self.assertEqual((p["model"], p["causal"]), ("tiny-tl", True))
        self.assertEqual(p["tokens"][0], {"id": 0, "text": "<|endoftext|>", "special": True})
        self.assertEqual([utf16_span(TEXT, t["start"], t["end"]) for t in p["tokens"][1:]], ["Hello", " 😀", " world", ",", " hello", " world"])
        expected = torch.stack([cache["pattern", l][0] for l in range(2)]).numpy().astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(_encode.decode(p["attention"], p["shape"]), expected)
        sub = headlight.from_transformer_lens(cache, model, TEXT, layers=[1]).payload
        self.assertEqual((sub["layers"], sub["shape"][0]), ([1], 1))


if __name__ == "__main__":
    unittest.main()
