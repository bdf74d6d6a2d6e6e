"""Tokens -> tokens.json entries: spans hand-computed from the texts below."""
import unittest

from headlight import _tokens


class Offsets(unittest.TestCase):
    def test_code_points_become_utf16_and_empty_spans_are_special(self):
        # "hi 😀 yo": 😀 is one code point (Python index 3) but two UTF-16 units, so everything after it moves by one.
        text = "hi 😀 yo"
        offsets = [(0, 0), (0, 2), (2, 4), (4, 7)]
        got_text, entries = _tokens.normalize(["<s>", "hi", "Ġ😀", "Ġyo"], text=text, offsets=offsets, ids=[1, 5, 6, 7])
        self.assertEqual(got_text, text)
        self.assertEqual(entries, [
            {"id": 1, "text": "<s>", "special": True},
            {"id": 5, "start": 0, "end": 2},
            {"id": 6, "start": 2, "end": 5},
            {"id": 7, "start": 5, "end": 8},
        ])

    def test_special_mask_overrides_the_empty_span_rule(self):
        _, entries = _tokens.normalize(["[CLS]", "a", "[SEP]"], text="a", offsets=[(0, 0), (0, 1), (0, 0)], special=[1, 0, 1])
        self.assertEqual([e.get("special", False) for e in entries], [True, False, True])
        _, entries = _tokens.normalize(["[CLS]", "a", "[SEP]"], text="a", offsets=[(0, 0), (0, 1), (0, 0)], special=[0, 2])
        self.assertEqual([e.get("special", False) for e in entries], [True, False, True])

    def test_refusals(self):
        with self.assertRaisesRegex(ValueError, "pass text= too"):
            _tokens.normalize(["a"], offsets=[(0, 1)])
        with self.assertRaisesRegex(ValueError, "outside a text of 1 characters"):
            _tokens.normalize(["a"], text="a", offsets=[(0, 2)])
        with self.assertRaisesRegex(ValueError, "2 offsets for 1 tokens"):
            _tokens.normalize(["a"], text="a", offsets=[(0, 1), (1, 1)])
        with self.assertRaisesRegex(TypeError, "not one string"):
            _tokens.normalize("abc")
        with self.assertRaisesRegex(ValueError, "no tokens"):
            _tokens.normalize([])


class Walk(unittest.TestCase):
    def test_tokens_found_in_the_text_in_order(self):
        # TransformerLens-style: BOS first (not in the text), then pieces; " cat" occurs twice and each is found in turn.
        text = "the cat, the cat"
        _, entries = _tokens.normalize(["<|endoftext|>", "the", " cat", ",", " the", " cat"], text=text)
        self.assertEqual(entries[0], {"text": "<|endoftext|>", "special": True})
        self.assertEqual([(e["start"], e["end"]) for e in entries[1:]], [(0, 3), (3, 7), (7, 8), (8, 12), (12, 16)])

    def test_a_piece_of_a_character_gets_an_empty_span(self):
        _, entries = _tokens.normalize(["a", "\ufffd", "\ufffd", "b"], text="a😀b")
        self.assertEqual([(e["start"], e["end"]) for e in entries], [(0, 1), (1, 1), (1, 1), (3, 4)])

    def test_without_text_the_tokens_are_joined(self):
        text, entries = _tokens.normalize(["<bos>", "a", " bé"], special=[0])
        self.assertEqual(text, "a bé")
        self.assertEqual(entries[1:], [{"start": 0, "end": 1}, {"start": 1, "end": 4}])

    def test_tokens_json_entries_pass_through_checked(self):
        _, entries = _tokens.normalize([{"id": 3, "start": 0, "end": 1}, {"text": "<eos>", "special": True, "start": 9}], text="x")
        self.assertEqual(entries, [{"id": 3, "start": 0, "end": 1}, {"text": "<eos>", "special": True}])
        with self.assertRaisesRegex(ValueError, "needs integer start"):
            _tokens.normalize([{"start": 0, "end": 5}], text="x")


if __name__ == "__main__":
    unittest.main()
