# Recovers headlight-mini's torch state_dicts from the committed ONNX files, so the ordinary-id leg (leg 3) can
# continue from the end of leg 2 without rerunning legs 1-2 (~33 min): the model at that step is checkpoint
# "leg2" (or the final model, before leg 3 existed). Writes work/RUN-ckpt/step-NNNNN.pt for it and each earlier
# checkpoint, and work/RUN-log.json rebuilt from the card (log, legs) up to that step, as train_mini.py would have.
# Checks each recovered model against its card: the scores measured on the card's probe must match (< 2e-4);
# onnx_scores.js checks the same cards against onnxruntime-node, so torch == ONNX on attention. `--logits F`
# also writes the logits of the card's first probe sequence to F (compare with onnxruntime-node).
# usage: python3 mini_from_onnx.py [--logits work/mini-logits-torch.json]
# The committed files hold float16 weights (fp16.py); the float32 ones they were rounded from, which the cards were
# measured on and leg 3 continued from, are read from git (onnx_weights.FLOAT32_COMMIT). The checkpoints are no
# longer shipped: their files and cards come from that commit only (media/models/headlight-mini/checkpoints/).
import json, os, sys
import torch
from common import MEDIA, WORK, ROOT
from gpt import MiniGPT, scores_from_attention
from onnx_weights import at_float32_commit, committed_float32, torch_from_onnx

OUT = os.path.join(MEDIA, "headlight-mini")
RUN = os.environ.get("RUN", "mini")

def load_onnx(path, pos):
    """The float32 weights of a committed headlight-mini file (FLOAT32_COMMIT's once the file is float16) in MiniGPT."""
    model = committed_float32(os.path.relpath(path, ROOT))
    vocab = next(i for i in model.graph.initializer if i.name == "tok.weight").dims[0]
    m = MiniGPT(vocab, **pos)
    linears = [f"blocks.{b}.{k}.weight" for b in range(len(m.blocks)) for k in ("qkv", "o", "mlp.0", "mlp.2")] + ["head.weight"]
    return torch_from_onnx(model, m, linears)

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
    picks = card["trainingCheckpoints"]
    final = next((c["step"] for c in picks if c["label"] == "leg2"), card["training"]["steps"])
    from_final = final == card["training"]["steps"]          # no leg 3 yet: the final model is the end of leg 2
    todo = [(final, os.path.join(OUT, "model.onnx"), card)] if from_final else []
    for c in picks:
        if c["step"] > final or (from_final and c["step"] == final) or c["label"] == "final": continue
        d = os.path.join(OUT, "checkpoints", f"step-{c['step']:05d}")   # at FLOAT32_COMMIT
        ck_card = json.loads(at_float32_commit(os.path.relpath(os.path.join(d, "card.json"), ROOT)))
        todo.append((c["step"], os.path.join(d, "model.onnx"), ck_card))
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
