# The answer-key models (test/fixtures/answer-key): small GPT-style causal transformers over BYTES with a
# LEARNED position table of P rows (exported as an initializer [P, d] read through a Gather, so the position
# limit is visible in the graph) and an embedding padded beyond the 257 real ids (bytes + BOS). Unlike
# headlight-mini: byte vocabulary, learned absolute positions, short context, different widths and depths.
# Attention is written with an explicit torch.softmax, so a Softmax node stays in the exported graph; the
# probabilities are returned by forward() for the answer key but are NOT exported as graph outputs.
import torch, torch.nn as nn

BOS = 256          # ids 0..255 are bytes; the tokenizer's template prepends 256


# The transformer block is headlight-mini's (gpt.py): the same pre-LayerNorm block, explicit softmax.
from gpt import Block  # noqa: E402


class ByteGPT(nn.Module):
    def __init__(s, vocab_rows, positions, n_layer, n_head, d):
        super().__init__()
        s.d, s.positions = d, positions
        s.tok = nn.Embedding(vocab_rows, d)       # rows >= 257 are padding: never indexed, so never trained
        s.pos = nn.Embedding(positions, d)        # learned positions: Gather(pos.weight [P, d], Range(T))
        nn.init.normal_(s.tok.weight, std=0.5)
        nn.init.normal_(s.pos.weight, std=0.5)
        s.blocks = nn.ModuleList([Block(d, n_head) for _ in range(n_layer)])
        s.lnf, s.head = nn.LayerNorm(d), nn.Linear(d, vocab_rows, bias=False)

    def forward(s, idx):
        T = idx.shape[1]
        x = s.tok(idx) + s.pos(torch.arange(T, device=idx.device))[None]
        atts = []
        for b in s.blocks:
            x, a = b(x); atts.append(a)
        return (s.head(s.lnf(x)),) + tuple(atts)


class LogitsOnly(nn.Module):
    """What is exported: input_ids -> logits. Headlight has to find the Softmax nodes itself."""
    def __init__(s, m):
        super().__init__(); s.m = m

    def forward(s, idx):
        return s.m(idx)[0]
