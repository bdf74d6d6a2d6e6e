# Recovers headlight-mini's torch state_dicts from the committed ONNX files, so the ordinary-id leg (leg 3) can
# continue from the end of leg 2 without rerunning legs 1-2 (~33 min): the model at that step is checkpoint
# "leg2" (or the final model, before leg 3 existed). Writes work/RUN-ckpt/step-NNNNN.pt for it and each earlier
# checkpoint, and work/RUN-log.json rebuilt from the card (log, legs) up to that step, as train_mini.py would have.
# Checks each recovered model against its card: the scores measured on the card's probe must match (< 2e-4);
# onnx_scores.js checks the same cards against onnxruntime-node, so torch == ONNX on attention. `--logits F`
# also writes the logits of the card's first probe sequence to F (compare with onnxruntime-node).
# usage: python3 mini_from_onnx.py [--logits work/mini-logits-torch.json]
# Initializers: named ones (tok.weight, blocks.N.ln*/qkv.bias/o.bias/mlp.*.bias, lnf.*) map directly; the
# unnamed onnx::MatMul_* tensors are the Linear weights, transposed, in graph order: per block qkv, o, mlp.0,
# mlp.2, then head.
import json, os, sys
import onnx, torch
from onnx import numpy_helper
from common import MEDIA, WORK
from gpt import MiniGPT, scores_from_attention

OUT = os.path.join(MEDIA, "headlight-mini")
RUN = os.environ.get("RUN", "mini")

def load_onnx(path, pos):
    g = onnx.load(path).graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    m = MiniGPT(inits["tok.weight"].shape[0], **pos)
    sd = m.state_dict()
    order = []
    for n in g.node:                       # weights in graph order, as the MatMuls consume them
        if n.op_type == "MatMul":
            order += [x for x in n.input if x in inits and x not in sd and x not in order]
    linears = [f"blocks.{b}.{k}.weight" for b in range(len(m.blocks)) for k in ("qkv", "o", "mlp.0", "mlp.2")] + ["head.weight"]
    assert len(order) == len(linears), (order, linears)
    new = {}
    for k in sd:
        if k in inits: new[k] = inits[k]
    for k, src in zip(linears, order):
        new[k] = inits[src].t().contiguous()
    for k in sd:   # the exporter shares identical initializers: at init every LayerNorm is ones/zeros -> module default
        if k not in new and ".ln" in "." + k and torch.equal(inits["blocks.0.ln1." + k.rsplit(".", 1)[1]], sd[k]):
            new[k] = sd[k]
    missing = [k for k in sd if k not in new or new[k].shape != sd[k].shape]
    assert not missing, missing
    m.load_state_dict(new); m.eval()
    return m

def check(m, card):
    probe = torch.tensor(card["probe"]["sequences"])
    with torch.no_grad(): atts = m(probe)[1:]
    worst = 0.0
    for s in scores_from_attention(atts, card["probe"]["repeatLength"]):
        c = next(h for h in card["heads"] if h["layer"] == s["layer"] and h["head"] == s["head"])
        worst = max([worst] + [abs(c["scores"][k] - v) for k, v in s["scores"].items()])
    return worst, probe

def main():
    card = json.load(open(os.path.join(OUT, "card.json")))
    pos = {"base": 500.0, "pos_scale": 1.414}
    assert card["positions"].startswith("sinusoidal (fixed, base 500, amplitude 1.414)"), card["positions"]
    ck = os.path.join(WORK, f"{RUN}-ckpt"); os.makedirs(ck, exist_ok=True)
    final = next((c["step"] for c in card["checkpoints"] if c["label"] == "leg2"), card["training"]["steps"])
    from_final = final == card["training"]["steps"]          # no leg 3 yet: the final model is the end of leg 2
    todo = [(final, os.path.join(OUT, "model.onnx"), card)] if from_final else []
    for c in card["checkpoints"]:
        d = os.path.join(OUT, c["path"])
        if c["step"] <= final and not (from_final and c["step"] == final) and os.path.exists(os.path.join(d, "model.onnx")):
            todo.append((c["step"], os.path.join(d, "model.onnx"), json.load(open(os.path.join(d, "card.json")))))
    for step, path, c in todo:
        m = load_onnx(path, pos)
        worst, probe = check(m, c)
        print(f"step {step}: {os.path.relpath(path, OUT)} -> {RUN}-ckpt/step-{step:05d}.pt; max |card - torch| score = {worst:.2e}")
        if worst > 2e-4: sys.exit(f"recovered weights do not reproduce {path}'s card scores")
        torch.save(m.state_dict(), os.path.join(ck, f"step-{step:05d}.pt"))
        if step == final and "--logits" in sys.argv:   # compare: node work/ort_logits.js (scratch) or onnxruntime-node
            with torch.no_grad(): logits = m(probe[:1])[0][0]
            with open(sys.argv[sys.argv.index("--logits") + 1], "w") as f:
                json.dump({"inputIds": probe[0].tolist(), "logits": logits.tolist()}, f)
    # The committed model's training: leg 1 to 1,948 steps (seed 0), leg 2 to `final` (seed 1), repeats from ids < 512.
    log = [dict(r) for r in card["trainingLog"] if r["step"] <= final]
    with open(os.path.join(WORK, f"{RUN}-log.json"), "w") as f:
        json.dump({"seed": card["training"]["seed"], "batch": card["training"]["batch"], "context": card["training"]["context"],
                   "aug": 0.25, "vocab": card["vocabSize"], "bos": 2047, "steps": final, "positions": pos, "synVocab": 512,
                   "minutes": log[-1]["minutes"], "recoveredFromOnnx": True,
                   "legs": [{"from": 0, "to": 1948, "seed": 0, "syn": "ids < 512"},
                            {"from": 1948, "to": final, "seed": 1, "syn": "ids < 512"}],
                   "log": log}, f, indent=1)
    print(f"wrote {RUN}-log.json ({len(log)} log records, {final} steps)")

if __name__ == "__main__":
    main()
