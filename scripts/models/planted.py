# The "planted" model: a 2-layer, 8-head causal transformer whose weights are SET, not trained, so every
# head's role is known exactly. Residual stream = [TOK one-hot 257 | POS one-hot 256 | PREV 257 | OUT 257].
# It is a standard attention layer whose W_Q/W_K/W_V/W_O are block-sparse; the zero blocks are not stored:
# heads read slices of the residual and write slices (that is all a block-sparse matrix does).
# usage: python3 planted.py  -> media/models/planted/{model.onnx,tokenizer.json,card.json,reference.json}
import json, os
import torch, torch.nn as nn, torch.nn.functional as F
from common import MEDIA, bytes_to_unicode, byte_level_tokenizer_json, write_json

V, P, BOS = 257, 256, 256          # vocab (bytes + <|bos|>), max positions
BETA = 30.0                        # logit scale: a 30-logit margin leaves < 256·e^-30 on other keys
TOK, POS, PREV, OUT = (0, V), (V, V + P), (V + P, 2 * V + P), (2 * V + P, 3 * V + P)
D = 3 * V + P

def shift(k):
    """S[i, j] = 1 where j = i - k: a query at i looks for the key whose position is i - k."""
    return torch.diag(torch.ones(P - k), -k) if k else torch.eye(P)

def no_role_matrix(seed):
    """Random bilinear score on token content; diagonal (same token) and BOS column pushed down so the head
    is not a duplicate-token, self or sink head by accident."""
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(V, V, generator=g) * 3.0
    m.fill_diagonal_(-6.0); m[:, BOS] = -6.0
    return m

class Planted(nn.Module):
    def __init__(s):
        super().__init__()
        s.register_buffer("eye_tok", torch.eye(V)); s.register_buffer("eye_pos", torch.eye(P))
        s.register_buffer("s1", shift(1)); s.register_buffer("s2", shift(2))
        s.register_buffer("local", shift(0) + shift(1) + shift(2))
        s.register_buffer("first", torch.eye(P)[0])        # key-side code of position 0
        s.register_buffer("r0", no_role_matrix(7)); s.register_buffer("r1", no_role_matrix(8))
        s.register_buffer("unembed", torch.eye(V) * 10.0)

    @staticmethod
    def causal_softmax(scores):
        T = scores.shape[-1]
        i = torch.arange(T, device=scores.device)
        return torch.softmax(scores.masked_fill(i[None, :] > i[:, None], float("-inf")), dim=-1)  # [B,H,T,T]

    def positional(s, pos):
        """Scores of the positional heads shared by both layers: [T,T] each (broadcast over the batch)."""
        return {"prev": pos @ s.s1 @ pos.T, "self": pos @ pos.T, "off2": pos @ s.s2 @ pos.T,
                "local": pos @ s.local @ pos.T, "sink": (pos @ s.first)[None, :].expand(pos.shape[0], -1)}

    def forward(s, input_ids, gates=None):
        """gates: optional [2, 8] multipliers on each head's probabilities (0 = zero-ablate the head): planted_effects.py."""
        B, T = input_ids.shape
        x = torch.cat([F.embedding(input_ids, s.eye_tok),
                       s.eye_pos[:T][None].expand(B, T, P),
                       torch.zeros(B, T, 2 * V)], -1)                         # residual stream [B,T,D]
        tok, pos = x[..., TOK[0]:TOK[1]], x[0, :, POS[0]:POS[1]]
        ps = {k: v[None].expand(B, T, T) for k, v in s.positional(pos).items()}
        zero = torch.zeros(B, T, T)
        same_tok = tok @ tok.transpose(1, 2)                                   # [B,T,T] 1 where token_j = token_i
        first = ps["sink"]
        # Layer 0: 0 previous-token, 1 first-token sink, 2 self, 3 offset -2, 4 duplicate-token, 5 broad,
        #          6 no role (random content bilinear), 7 local (i, i-1, i-2 equally)
        dup = same_tok - 2 * ps["self"] + 0.5 * first                          # earlier copies; else BOS
        l0 = torch.stack([ps["prev"], first, ps["self"], ps["off2"], dup, zero / BETA,
                          (tok @ s.r0 @ tok.transpose(1, 2)) / BETA, ps["local"]], 1) * BETA
        a0 = s.causal_softmax(l0)
        if gates is not None: a0 = a0 * gates[0][None, :, None, None]
        # Only head 0 writes: the token it attends to (the previous token) goes into the PREV subspace.
        prev_written = a0[:, 0] @ tok                                          # [B,T,V]
        x = x + torch.cat([torch.zeros(B, T, PREV[0]), prev_written, torch.zeros(B, T, D - PREV[1])], -1)
        # Layer 1: 0 induction (query TOK against key PREV, i.e. composition with layer-0 head 0), 1 previous-token,
        #          2 first-token sink, 3 self, 4 broad, 5 offset -2, 6 no role, 7 local
        tok1, prev1 = x[..., TOK[0]:TOK[1]], x[..., PREV[0]:PREV[1]]
        ind = tok1 @ prev1.transpose(1, 2) + 0.5 * first                       # token after an earlier copy; else BOS
        l1 = torch.stack([ind, ps["prev"], first, ps["self"], zero, ps["off2"],
                          (tok1 @ s.r1 @ tok1.transpose(1, 2)) / BETA, ps["local"]], 1) * BETA
        a1 = s.causal_softmax(l1)
        if gates is not None: a1 = a1 * gates[1][None, :, None, None]
        # Only the induction head writes: it copies the token it attends to into OUT, which the unembedding
        # reads, so the logits predict "what followed the last time this token appeared".
        out = a1[:, 0] @ tok1
        x = x + torch.cat([torch.zeros(B, T, OUT[0]), out], -1)
        logits = x[..., OUT[0]:OUT[1]] @ s.unembed
        return logits, a0, a1

HEADS = [  # (layer, head, roles, what was planted)
    (0, 0, ["previous-token"], "attends to i-1 (position 0 attends to itself); writes the attended token into the PREV subspace"),
    (0, 1, ["first-token-sink"], "attends to position 0"),
    (0, 2, ["self"], "attends to i"),
    (0, 3, ["positional"], "attends to i-2 (fixed offset -2); positions 0 and 1 attend uniformly to what they can see"),
    (0, 4, ["duplicate-token"], "attends equally to every earlier position holding the query's token id; with no earlier copy it attends to position 0 (BOS)"),
    (0, 5, ["broad"], "zero query/key weights: equal weight on every visible key"),
    (0, 6, [], "no role: score = fixed random bilinear function of (query token, key token), same-token and BOS scores pushed down"),
    (0, 7, ["local"], "attends equally to i, i-1 and i-2"),
    (1, 0, ["induction"], "query = its token (TOK), key = the PREV subspace written by layer-0 head 0: attends to every position whose previous token equals the query's token (the token after an earlier copy); with none, attends to position 0 (BOS). Copies the attended token into OUT, which the logits read"),
    (1, 1, ["previous-token"], "attends to i-1 (a second, layer-1 copy for comparison)"),
    (1, 2, ["first-token-sink"], "attends to position 0"),
    (1, 3, ["self"], "attends to i"),
    (1, 4, ["broad"], "zero query/key weights: equal weight on every visible key"),
    (1, 5, ["positional"], "attends to i-2 (fixed offset -2)"),
    (1, 6, [], "no role: a different fixed random bilinear function of token content"),
    (1, 7, ["local"], "attends equally to i, i-1 and i-2"),
]

def main():
    torch.manual_seed(0)
    out_dir = os.path.join(MEDIA, "planted"); os.makedirs(out_dir, exist_ok=True)
    m = Planted().eval()
    # Tokenizer: ids 0..255 are bytes (GPT-2's byte->unicode chars), 256 is <|bos|>; no merges.
    b2u = bytes_to_unicode()
    write_json(os.path.join(out_dir, "tokenizer.json"),
               byte_level_tokenizer_json({b2u[b]: b for b in range(256)}, [], "<|bos|>", BOS))
    path = os.path.join(out_dir, "model.onnx")
    x = torch.tensor([[BOS] + list(b"hello hello")])
    torch.onnx.export(m, (x,), path, input_names=["input_ids"], output_names=["logits", "a0", "a1"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
                      opset_version=14, do_constant_folding=True)
    import onnx
    mo = onnx.load(path)
    # Keep only logits as a graph output: the engine must find the Softmax nodes itself (deliberate).
    keep = [o for o in mo.graph.output if o.name == "logits"]
    del mo.graph.output[:]; mo.graph.output.extend(keep)
    onnx.checker.check_model(mo); onnx.save(mo, path)
    print("planted: softmax nodes", [n.output[0] for n in mo.graph.node if n.op_type == "Softmax"])
    # Reference attention for a fixed input.
    text = "the cat sat. the cat sat."
    ids = [BOS] + list(text.encode())
    with torch.no_grad(): _, a0, a1 = m(torch.tensor([ids]))
    rnd = lambda t: [[[round(float(v), 7) for v in row] for row in h] for h in t[0]]
    softmax_names = [n.output[0] for n in mo.graph.node if n.op_type == "Softmax"]
    write_json(os.path.join(out_dir, "reference.json"),
               {"text": text, "inputIds": ids, "softmaxOutputs": softmax_names, "attention": [rnd(a0), rnd(a1)]})
    # Scores on a repeated random byte sequence, plus sharpness of each planted pattern.
    from gpt import probe_batch, scores_from_attention
    L = 50
    probe = probe_batch(256, L=L, n=8, seed=1234, bos=BOS)
    with torch.no_grad(): _, p0, p1 = m(probe)
    sc = scores_from_attention([p0, p1], L)
    heads = []
    for (l, h, roles, planted), s in zip(HEADS, sc):
        heads.append({"layer": l, "head": h, "roles": roles, "planted": planted,
                      "scores": {k: round(v, 4) for k, v in s["scores"].items()}})
        print(l, h, roles, {k: round(v, 3) for k, v in s["scores"].items()})
    card = {
        "name": "planted",
        "description": ("A transformer built by construction, not trained: weights are set so each head has an exactly "
                        "known role (see heads[].planted). Residual stream [TOK one-hot 257 | POS one-hot 256 | PREV 257 | "
                        f"OUT 257]; attention logits are 0/1 matches scaled by {BETA:g}, so planted patterns carry >= 0.99 of "
                        "each row. The induction head (layer 1 head 0) is real composition: its keys read the PREV subspace "
                        "that layer-0 head 0 (previous-token) wrote. Fallbacks: duplicate-token and induction heads attend to "
                        "position 0 (BOS) when the query token has no earlier copy; with several copies they split weight "
                        "equally among them. Only L0H0 (into PREV) and L1H0 (into OUT) write to the residual; the logits read "
                        "OUT, so they predict the token that followed an earlier copy of the current token (no prediction "
                        "otherwise). The graph has no attention outputs: find the 2 Softmax nodes ([batch, 8, seq, seq]). "
                        "scores: measured in PyTorch on 8 sequences [BOS, r, r] of 50 random bytes (seed 1234); "
                        "previous-token = mean A[i,i-1]; induction = mean over the second copy of A[i,i-L+1]; "
                        "duplicate-token = mean over the second copy of A[i,i-L]; first-token-sink = mean A[i,0]; "
                        "self = mean A[i,i] (queries i >= 1)."),
        "kind": "causal", "layers": 2, "headsPerLayer": 8, "dModel": D, "vocabSize": V, "maxPositions": P,
        "inputs": ["input_ids"], "attentionOutputs": None, "softmaxOutputs": softmax_names,
        "specialTokens": {"bos": "<|bos|>"}, "opset": 14, "corpus": [],
        "training": {"steps": 0, "minutes": 0, "seed": 0, "batch": 0, "context": 0, "loss": 0},
        "construction": {"logitScale": BETA, "positions": "one-hot, 256", "tokens": "one-hot, 257",
                         "noRoleSeeds": [7, 8], "script": "scripts/models/planted.py"},
        "probe": {"seed": 1234, "repeatLength": L, "sequences": probe.tolist()},
        "heads": heads,
    }
    write_json(os.path.join(out_dir, "card.json"), card, indent=1)

if __name__ == "__main__":
    main()
