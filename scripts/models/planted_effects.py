# Head ablation effects of the planted model, computed in PyTorch from its definition (planted.py), as the
# answer key for Headlight's effects (engine/effects.ts): zero-ablate each head (its probabilities × 0, so
# its output before W_O is 0) and record, per position, the loss of the actual next token with and without.
# usage: python3 planted_effects.py  -> media/models/planted/effects.json
import json, os, math
import torch, torch.nn.functional as F
from common import MEDIA, write_json
from planted import Planted, BOS

def main():
    m = Planted().eval()
    # A random byte sequence repeated twice after BOS: the induction head predicts the second copy.
    g = torch.Generator().manual_seed(42)
    r = torch.randint(97, 123, (20,), generator=g).tolist()       # lowercase letters, all ordinary tokens
    ids = [BOS] + r + r
    x = torch.tensor([ids])
    def losses(gates):
        with torch.no_grad():
            logits = m(x, gates)[0][0].double()
        lp = F.log_softmax(logits, -1)
        return [float(-lp[i, ids[i + 1]]) for i in range(len(ids) - 1)]
    base = losses(None)
    heads = []
    for l in range(2):
        for h in range(8):
            gates = torch.ones(2, 8); gates[l, h] = 0
            d = [a - b for a, b in zip(losses(gates), base)]
            heads.append({"layer": l, "head": h, "delta": [round(v, 6) for v in d]})
    layer_all = []
    for l in range(2):
        gates = torch.ones(2, 8); gates[l, :] = 0
        layer_all.append({"layer": l, "delta": [round(a - b, 6) for a, b in zip(losses(gates), base)]})
    write_json(os.path.join(MEDIA, "planted", "effects.json"), {
        "description": "Zero-ablation effects computed in PyTorch (scripts/models/planted_effects.py): per head, per position i "
                       "(predicting token i+1), the loss of the actual next token with the head's probabilities x 0 minus without. "
                       "Positions 0..19 predict the first copy's tokens, 20..39 the second copy's.",
        "ids": ids, "T": len(r), "baseLoss": [round(v, 6) for v in base], "heads": heads, "layers": layer_all,
    }, indent=1)
    ind = heads[8]["delta"]
    print("L1H0 induction: mean delta first copy", sum(ind[:20]) / 20, "second copy", sum(ind[21:]) / 19)

if __name__ == "__main__":
    main()
