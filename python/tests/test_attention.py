"""Attention shapes and checks: every accepted layout lands on [layers, heads, n, n]; every malformed one is refused
with a message naming the head and row."""
import unittest

import numpy as np

from headlight import _attention


def causal_uniform(L, H, n):
    a = np.tril(np.ones((L, H, n, n), dtype=np.float32))
    return a / a.sum(-1, keepdims=True)


class Shapes(unittest.TestCase):
    def test_every_layout(self):
        a = causal_uniform(2, 3, 4)
        self.assertEqual(_attention.to_array(a[0, 0]).shape, (1, 1, 4, 4))
        self.assertEqual(_attention.to_array(a[0]).shape, (1, 3, 4, 4))
        self.assertEqual(_attention.to_array(a).shape, (2, 3, 4, 4))
        self.assertEqual(_attention.to_array(a[None]).shape, (2, 3, 4, 4))
        # Hugging Face: a tuple of [batch, heads, q, k], one per layer; batch_index picks the example.
        hf = tuple(np.stack([a[l], a[l] * 0 + np.eye(4, dtype=np.float32)]) for l in range(2))
        np.testing.assert_array_equal(_attention.to_array(hf), a)
        np.testing.assert_array_equal(_attention.to_array(hf, batch_index=1)[1, 2], np.eye(4))

    def test_transformer_lens_cache(self):
        a = causal_uniform(3, 2, 5)
        cache = {f"blocks.{l}.attn.hook_pattern": a[l][None] for l in range(3)}
        cache["blocks.0.hook_resid_pre"] = np.zeros((1, 5, 8))
        np.testing.assert_array_equal(_attention.to_array(cache), a)
        with self.assertRaisesRegex(ValueError, "not layer 1"):
            _attention.to_array({k: v for k, v in cache.items() if not k.startswith("blocks.1.")})

    def test_refusals(self):
        with self.assertRaisesRegex(ValueError, "q = k"):
            _attention.to_array(np.ones((2, 3, 4)) / 4)
        with self.assertRaisesRegex(ValueError, "different shapes"):
            _attention.to_array([np.eye(3)[None], np.eye(4)[None]])
        with self.assertRaisesRegex(ValueError, "batch_index 2 is outside a batch of 1"):
            _attention.to_array(np.eye(3)[None, None, None], batch_index=2)
        with self.assertRaisesRegex(TypeError, "float array"):
            _attention.to_array(np.array([["a"]]))

    def test_subsets_keep_the_model_numbers(self):
        a = causal_uniform(4, 3, 2)
        a[2, 1] = np.eye(2)
        sub, ln, hn = _attention.select(a, layers=[2, 3], heads=[1])
        self.assertEqual((ln, hn, sub.shape), ([2, 3], [1], (2, 1, 2, 2)))
        np.testing.assert_array_equal(sub[0, 0], np.eye(2))
        with self.assertRaisesRegex(ValueError, "among 0..3"):
            _attention.select(a, layers=[4])


class Checks(unittest.TestCase):
    toks = [{"start": i, "end": i + 1} for i in range(4)]

    def test_causal_is_read_from_the_zeros(self):
        a = causal_uniform(1, 2, 4)
        self.assertTrue(_attention.check(a, self.toks))
        full = np.full((1, 2, 4, 4), 0.25, dtype=np.float32)
        self.assertFalse(_attention.check(full, self.toks))
        with self.assertRaisesRegex(ValueError, "causal=True, but L0H0 attends to later tokens"):
            _attention.check(full, self.toks, causal=True)

    def test_malformed_attention_names_head_and_row(self):
        a = causal_uniform(2, 3, 4)
        bad = a.copy(); bad[1, 2, 3, 0] = np.nan
        with self.assertRaisesRegex(ValueError, r"L1H2, row 3: .*NaN"):
            _attention.check(bad, self.toks)
        bad = a.copy(); bad[0, 1, 2] *= 0.7
        with self.assertRaisesRegex(ValueError, r"L0H1, row 2: the weights sum to 0.7000"):
            _attention.check(bad, self.toks)
        bad = a.copy(); bad[0, 0, 1, 0] = -0.5; bad[0, 0, 1, 1] = 1.5
        with self.assertRaisesRegex(ValueError, r"L0H0, row 1: weights outside \[0, 1\]"):
            _attention.check(bad, self.toks)
        with self.assertRaisesRegex(ValueError, "covers 4 tokens but there are 3"):
            _attention.check(a, self.toks[:3])
        # Subsets are named by the model's numbers.
        bad = a.copy(); bad[1, 0, 0, 0] = 0.5
        with self.assertRaisesRegex(ValueError, r"L7H4, row 0"):
            _attention.check(bad, self.toks, layer_numbers=[3, 7], head_numbers=[4, 5, 6])


if __name__ == "__main__":
    unittest.main()
