"""show(), dump() and the bytes they write: encodings checked against hand-computed codes, the PNG read back
chunk by chunk, the documented sizes measured, dumps read back as safetensors."""
import base64
import json
import os
import struct
import tempfile
import unittest
import warnings
import zlib

import numpy as np

import headlight
from headlight import _encode


def softmax_attention(L, H, n, causal, sigma, seed=0):
    """Random attention: softmax of Gaussian scores (sigma sets how peaked), masked above the diagonal if causal."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(L, H, n, n)).astype(np.float32) * sigma
    if causal:
        x = np.where(np.tril(np.ones((n, n), dtype=bool)), x, -np.inf)
    p = np.exp(x - x.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def tokens(n):
    return [f" t{i}" for i in range(n)]


class Encodings(unittest.TestCase):
    def test_log8_codes(self):
        # 1 -> 255; 0.5 = 2^-1 -> 255 - 16; 2^-7 -> 143 (the knee); 2^-8 -> 143 - 4; 2^-24 -> 75; below 2^-24.125 -> 0.
        w = np.array([1.0, 0.5, 2 ** -7, 2 ** -8, 2 ** -24, 2 ** -24.2, 0.0])
        self.assertEqual(_encode.log8(w).tolist(), [255, 239, 143, 139, 75, 0, 0])
        # Within 2.2 % above the knee, 9 % below.
        x = np.geomspace(2 ** -24, 1, 20001)
        rel = np.abs(_encode.log8_decode(_encode.log8(x)) / x - 1)
        self.assertLessEqual(rel[x >= 2 ** -7].max(), 2 ** (1 / 32) - 1 + 1e-6)
        self.assertLessEqual(rel.max(), 2 ** (1 / 8) - 1 + 1e-6)

    def test_lower_layout_is_each_rows_keys_up_to_the_query(self):
        a = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
        self.assertEqual(_encode.stored(a, "lower").tolist(), [[[0, 3, 4, 6, 7, 8]]])

    def test_float16_round_trip_is_exact(self):
        a = softmax_attention(2, 3, 17, causal=True, sigma=2)
        att = _encode.encode(a, True, "float16")
        self.assertEqual((att["layout"], att["compression"]), ("lower", "zlib"))
        np.testing.assert_array_equal(_encode.decode(att, (2, 3, 17)), a.astype(np.float16).astype(np.float32))

    def test_log8_rows_come_back_summing_to_one(self):
        # A uniform row over 200 keys: every weight rounds the same way (1/200 -> -7 %); decoding renormalises it.
        a = np.full((1, 1, 200, 200), 1 / 200, dtype=np.float32)
        back = _encode.decode(_encode.encode(a, False, "log8"), (1, 1, 200))
        np.testing.assert_allclose(back.sum(-1), 1, atol=1e-5)
        np.testing.assert_allclose(back, a, rtol=1e-5)


class Show(unittest.TestCase):
    def test_mimebundle(self):
        a = softmax_attention(2, 2, 5, causal=True, sigma=1)
        v = headlight.show(["<s>", "a", " b", " c", " d"], a, text="a b c d", special=[0], model="tiny", language="python")
        b = v._repr_mimebundle_()
        self.assertEqual(set(b), {headlight.MIME, "image/png", "text/plain"})
        p = b[headlight.MIME]
        self.assertEqual((p["version"], p["shape"], p["causal"], p["model"], p["language"]), (1, [2, 2, 5], True, "tiny", "python"))
        self.assertEqual(p["tokens"][0], {"text": "<s>", "special": True})
        self.assertEqual(p["attention"]["dtype"], "float16")
        json.dumps(p)  # JSON-serialisable as it is (nbformat stores +json outputs as objects)
        self.assertIn("2 layers x 2 heads over 5 tokens", b["text/plain"])
        self.assertEqual(v._repr_mimebundle_(include=["text/plain"]), {"text/plain": b["text/plain"]})

    def test_png_is_the_grid_of_heads(self):
        # Two layers of one head over 2 tokens: identity and "all on token 0". Each head is drawn at 8 px per cell (the
        # smallest cell), each token a 4 x 4 block; full weight is the dark end of the ramp, none the light end.
        a = np.array([[[[1, 0], [0, 1]]], [[[1, 0], [1, 0]]]], dtype=np.float32)
        png = base64.b64decode(headlight.show(["a", "b"], a, causal=False)._repr_mimebundle_()["image/png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        chunks, at = {}, 8
        while at < len(png):
            (length,) = struct.unpack(">I", png[at:at + 4])
            kind, data, crc = png[at + 4:at + 8], png[at + 8:at + 8 + length], png[at + 8 + length:at + 12 + length]
            self.assertEqual(struct.unpack(">I", crc)[0], zlib.crc32(kind + data) & 0xFFFFFFFF)
            chunks[kind] = data
            at += 12 + length
        w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
        self.assertEqual((w, h, depth, colour), (8, 8 + 2 + 8, 8, 3))  # 8-bit indexed colour
        palette = np.frombuffer(chunks[b"PLTE"], dtype=np.uint8).reshape(-1, 3)
        rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(h, 1 + w)
        self.assertTrue((rows[:, 0] == 0).all())
        px = palette[rows[:, 1:]]
        dark, light = [8, 48, 107], [247, 251, 255]
        self.assertEqual(px[0, 0].tolist(), dark)     # layer 0: token 0 -> token 0
        self.assertEqual(px[0, 7].tolist(), light)    # layer 0: token 0 -> token 1
        self.assertEqual(px[7, 7].tolist(), dark)     # layer 0: token 1 -> token 1
        self.assertEqual(px[8, 0].tolist(), [255, 255, 255])  # the gap between layers
        self.assertEqual(px[17, 0].tolist(), dark)    # layer 1: token 1 -> token 0
        self.assertEqual(px[17, 7].tolist(), light)

    def test_refuses_unknown_precision_and_bad_attention(self):
        with self.assertRaisesRegex(ValueError, "precision must be"):
            headlight.show(["a"], np.ones((1, 1)), precision="int4")
        with self.assertRaisesRegex(ValueError, "sum to 0.5000"):
            headlight.show(["a", "b"], np.array([[0.5, 0.0], [0.5, 0.5]]))


class Sizes(unittest.TestCase):
    """docs/notebooks.md's size table: a 12 x 12-head output at 256 tokens stays under 10 MB in the .ipynb."""

    def test_causal_12x12_at_256_tokens_is_inline_under_10_mb_even_for_dense_random_attention(self):
        a = softmax_attention(12, 12, 256, causal=True, sigma=4)
        v = headlight.show(tokens(256), a, dump=False)
        self.assertTrue(v.inline)
        self.assertLess(v.nbytes, 10_000_000)
        # What nbformat would write: the bundle as JSON with indent=1.
        self.assertLess(len(json.dumps(v._repr_mimebundle_(), indent=1)), 10_000_000)

    def test_bidirectional_12x12_at_256_tokens_with_peaked_heads_is_inline(self):
        # Encoder heads put most weight on a few keys ([CLS]/[SEP], the token itself) over a noisy rest: sigma 1.5
        # scores, a column on token 0 and the diagonal raised. This costs 0.71 bytes a weight in log8 + zlib; tiny-bert's
        # real attention (Headlight's bundled encoder) costs 0.67 (docs/notebooks.md).
        rng = np.random.default_rng(1)
        x = rng.normal(size=(12, 12, 256, 256)).astype(np.float32) * 1.5
        x[..., 0] += 4
        x[..., np.arange(256), np.arange(256)] += 3
        a = np.exp(x - x.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        v = headlight.show(tokens(256), a, dump=False)
        self.assertTrue(v.inline)
        self.assertEqual(v.payload["attention"]["dtype"], "log8")
        self.assertLess(v.nbytes, 10_000_000)

    def test_too_large_goes_to_a_dump_file_the_output_points_to(self):
        a = softmax_attention(2, 2, 64, causal=True, sigma=2)
        with tempfile.TemporaryDirectory() as d:
            here = os.getcwd()
            os.chdir(d)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    v = headlight.show(tokens(64), a, model="m", limit=6_000)
                self.assertFalse(v.inline)
                self.assertTrue(any("does not fit" in str(w.message) for w in caught))
                rel = v.payload["dump"]["path"]
                self.assertTrue(rel.startswith("headlight-dumps" + os.sep))
                self.assertTrue(os.path.isfile(os.path.join(rel, "attention.safetensors")))
                self.assertTrue(os.path.samefile(v.payload["dump"]["absolutePath"], rel))
                self.assertLess(v.nbytes, headlight.show(tokens(64), a, dump=False, limit=10 ** 9).nbytes)
                with self.assertRaisesRegex(ValueError, "over the 0.0 MB limit"):
                    headlight.show(tokens(64), a, limit=1, dump=False)
                explicit = headlight.show(tokens(64), a, dump="mine.safetensors")
                self.assertEqual(explicit.payload["dump"]["path"], "mine.safetensors")
                self.assertTrue(os.path.isfile("mine.tokens.json"))
            finally:
                os.chdir(here)


class Dump(unittest.TestCase):
    def test_writes_the_documented_safetensors_and_tokens_json(self):
        a = softmax_attention(2, 3, 6, causal=True, sigma=1)
        with tempfile.TemporaryDirectory() as d:
            for dtype, np_dtype in (("float32", "<f4"), ("float16", "<f2")):
                folder = os.path.join(d, dtype)
                path = headlight.dump(folder, ["<s>", "x", " y", " z", " x", " y"], a, text="x y z x y", special=[0], ids=[0, 1, 2, 3, 1, 2], model="m", dtype=dtype)
                self.assertEqual(path, os.path.join(folder, "attention.safetensors"))
                with open(path, "rb") as f:
                    raw = f.read()
                (hl,) = struct.unpack("<Q", raw[:8])
                self.assertEqual(hl % 8, 0)
                header = json.loads(raw[8:8 + hl])
                st = "F32" if dtype == "float32" else "F16"
                self.assertEqual(header["attention"], {"dtype": st, "shape": [2, 3, 6, 6], "data_offsets": [0, a.size * np.dtype(np_dtype).itemsize]})
                self.assertEqual(header["__metadata__"], {"causal": "true", "model": "m"})
                back = np.frombuffer(raw[8 + hl:], dtype=np_dtype).reshape(2, 3, 6, 6)
                np.testing.assert_array_equal(back, a.astype(np_dtype))
                with open(os.path.join(folder, "tokens.json"), encoding="utf-8") as f:
                    toks = json.load(f)
                self.assertEqual(toks["text"], "x y z x y")
                self.assertEqual(toks["tokens"][0], {"id": 0, "text": "<s>", "special": True})
                self.assertEqual(toks["tokens"][4], {"id": 1, "start": 5, "end": 7})
                self.assertEqual((toks["causal"], toks["model"]), (True, "m"))


if __name__ == "__main__":
    unittest.main()
