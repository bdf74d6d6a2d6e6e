# Ships headlight-mini and tiny-bert with float16 weights, as headlight-small already is: each
# float16 initializer sits behind a Cast to float32, so the computation stays float32 and the file is half the size.
# For each model folder it reads the float32 file (the working file while it is float32, as export_mini.py and
# bert.py write it; else the last float32 commit, onnx_weights.FLOAT32_COMMIT) and
# - loads it into its PyTorch class and checks the card's scores come back (< 2e-4: the loader is right; the cards
#   stay measured on the float32 weights),
# - writes reference.json: the float32 model's attention, in PyTorch, on the samples' first REF_LEN tokens (the
#   oracle test/unit/models.test.ts holds the shipped file to, within 1e-3),
# - writes model.onnx with float16 weights and prints how far the rounded weights move attention and logits
#   (PyTorch on the rounded weights against PyTorch on the float32 ones); fails above 1e-3 attention.
# planted stays float32: its reference is its construction to 1e-5, and rounding its random heads moves attention
# by 5.3e-4 (measured with onnxruntime-node). Running it again reproduces the committed files byte for byte.
# usage: python3 fp16.py [headlight-mini] [tiny-bert]   (default both)
import base64, json, os, re, sys
import onnx, torch
from common import MEDIA, ROOT, write_json
from gpt import MiniGPT, scores_from_attention
from bert import TinyBert
from export_small import eval_ids, REF_LEN
from onnx_weights import to_fp16, torch_from_onnx, committed_float32

MODELS = ["headlight-mini", "tiny-bert"]
WEIGHTS = ("float16 initializers, Cast to float32 in the graph (scripts/models/fp16.py); scores measured in PyTorch "
           "on the float32 weights before rounding")

def module_for(card):
    """The card's PyTorch class, empty, and the names of its Linear weights in the order the graph uses them."""
    if card["kind"] == "bidirectional":
        return TinyBert(card["vocabSize"]), [f"layers.{b}.{k}.weight" for b in range(card["layers"])
                                             for k in ("qkv", "o", "mlp.0", "mlp.2")] + ["head.weight"]
    base, scale = re.search(r"base ([\d.]+), amplitude ([\d.]+)", card["positions"]).groups()
    m = MiniGPT(card["vocabSize"], n_layer=card["layers"], n_head=card["headsPerLayer"], d=card["dModel"],
                base=float(base), pos_scale=float(scale))
    return m, [f"blocks.{b}.{k}.weight" for b in range(card["layers"]) for k in ("qkv", "o", "mlp.0", "mlp.2")] + ["head.weight"]

def run(m, ids):
    """(logits, attention per layer) for a batch of id rows; an encoder sees every key and token type 0."""
    with torch.no_grad():
        out = m(ids, torch.ones_like(ids), torch.zeros_like(ids)) if isinstance(m, TinyBert) else m(ids)
    return out[0], out[1:]

def with_weights_field(card):
    """The card with "weights" after "opset", where headlight-small's cards have it."""
    out = {}
    for k, v in card.items():
        if k != "weights": out[k] = v
        if k == "opset": out["weights"] = WEIGHTS
    return out

def convert(rel_dir):
    d = os.path.join(MEDIA, rel_dir)
    card = json.load(open(os.path.join(d, "card.json")))
    rel = os.path.relpath(os.path.join(d, "model.onnx"), ROOT)
    f32 = committed_float32(rel)
    size32 = len(f32.SerializeToString())
    m32 = torch_from_onnx(f32, *module_for(card))
    _, atts = run(m32, torch.tensor(card["probe"]["sequences"]))
    worst = 0.0
    for s in scores_from_attention(atts, card["probe"]["repeatLength"]):
        c = next(h for h in card["heads"] if h["layer"] == s["layer"] and h["head"] == s["head"])
        worst = max([worst] + [abs(c["scores"][k] - v) for k, v in s["scores"].items()])
    if worst > 2e-4: sys.exit(f"{rel}: the float32 weights loaded in PyTorch do not reproduce the card ({worst:.2e})")
    ids = eval_ids(os.path.normpath(os.path.join(d, card.get("tokenizer", "tokenizer.json"))))[:REF_LEN]
    x = torch.tensor([ids])
    logits32, ref = run(m32, x)
    f16 = to_fp16(f32)
    onnx.save(f16, os.path.join(d, "model.onnx"))
    logits16, att16 = run(torch_from_onnx(f16, *module_for(card)), x)
    da = max(float((a - b).abs().max()) for a, b in zip(att16, ref))
    dl = float((logits16 - logits32).abs().max())
    print(f"{rel_dir}: {size32:,} -> {os.path.getsize(os.path.join(d, 'model.onnx')):,} bytes; card scores from the float32 "
          f"weights {worst:.1e}; float16 vs float32 (PyTorch, {len(ids)} tokens): attention {da:.2e}, logits {dl:.2e}")
    if da > 1e-3: sys.exit(f"{rel_dir}: float16 weights move attention by {da:.2e} (> 1e-3)")
    write_json(os.path.join(d, "reference.json"), {
        "note": "attention of the float32 model (PyTorch) on inputIds; the shipped float16 weights must stay within 1e-3 "
                "(test/unit/models.test.ts)", "inputIds": ids,
        "attentionF32Base64": [base64.b64encode(a[0].numpy().astype("<f4").tobytes()).decode() for a in ref]})
    write_json(os.path.join(d, "card.json"), with_weights_field(card), indent=1)

def main():
    torch.set_num_threads(1)
    for name in sys.argv[1:] or MODELS:
        if name not in MODELS: sys.exit(f"fp16.py converts {' and '.join(MODELS)}, not {name}")
        convert(name)   # neither ships checkpoints (headlight-mini's stay in scripts/models/work/, float32)

if __name__ == "__main__":
    main()
