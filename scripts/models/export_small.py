# Exports headlight-small and its checkpoints (pick_small.py: start, before / during / after the induction phase
# change, end) to ONNX with attention outputs attn.0.., float16 weights cast to float32 in the graph (half the
# size; the computation stays float32). Every card holds scores measured in PyTorch on the rounded weights
# (what ships), with the probe and definitions of headlight-mini's cards; the final card adds per-layer
# statistics on a fixed text and when each role first appeared during training. reference.json holds the
# unrounded float32 model's attention on that text, for the test that the shipped weights stay within 1e-3.
# usage: python3 export_small.py              (work/small-log.json + work/small-ckpt/, from train_small.py)
#        PACK=folder/cand-s0 python3 export_small.py (a GPU run of the same recipe, device_small.sh)
import base64, json, os, shutil, subprocess
import torch
from common import MEDIA, WORK, ROOT, write_json
from gpt import MiniGPT, scores_from_attention, roles_from_scores, THRESHOLDS
from export_mini import ordinary_probe, export, L, N, PROBE_SEED
from pick_small import pick
from onnx_weights import to_fp16_weights

OUT = os.environ.get("SMALL_OUT", os.path.join(MEDIA, "headlight-small"))
MINI = os.path.join(MEDIA, "headlight-mini")
EVAL_TEXT = ["prose.txt", "code.py", "repeats.txt", "mixed.txt"]   # samples/, joined by blank lines
EVAL_LEN, REF_LEN = 256, 48

def load_run():
    """(meta, the file of step N's float32 weights) for the CPU run in work/ or a GPU run (PACK)."""
    if os.environ.get("PACK"):                       # device_small.sh's output: PACK.json + PACK-step-N.pt
        return json.load(open(os.environ["PACK"] + ".json"))["meta"], lambda st: f"{os.environ['PACK']}-step-{st}.pt"
    meta = json.load(open(os.path.join(WORK, "small-log.json")))
    if not meta.get("complete"): raise SystemExit("training stopped before its step cap: run train_small.py again to resume")
    return meta, lambda st: os.path.join(WORK, "small-ckpt", f"step-{st:05d}.pt")

def model_from(meta, sd):
    c = meta["config"]
    m = MiniGPT(meta["vocab"], n_layer=c["layers"], n_head=c["heads"], d=c["d"], **meta["positions"])
    m.load_state_dict(sd); m.eval()
    return m

def rounded(sd):
    return {k: v.half().float() if v.is_floating_point() else v for k, v in sd.items()}

def eval_ids(tokenizer=os.path.join(MINI, "tokenizer.json")):
    """The samples joined, tokenized by the same tokenizers library the extension runs (BOS first), cut to EVAL_LEN."""
    text = "\n\n".join(open(os.path.join(ROOT, "samples", f), encoding="utf-8").read() for f in EVAL_TEXT)
    js = ("const {Tokenizer}=require('tokenizers');(async()=>{const t=Tokenizer.fromFile(process.argv[1]);"
          "const e=await t.encode(require('fs').readFileSync(0,'utf8'));console.log(JSON.stringify(e.getIds()))})()")
    ids = json.loads(subprocess.run(["node", "-e", js, tokenizer], input=text, text=True,
                                    capture_output=True, check=True, cwd=ROOT).stdout)
    return ids[:EVAL_LEN]

def layer_stats(atts):
    """Per layer, averaged over heads (definitions of src/analysis/metricDefs.ts, from the papers they cite):
    distance = mean over queries of sum_j a_ij |i-j| (Vig & Belinkov 2019); entropy = mean over queries i >= 1 of
    H(a_i) / log(i+1) (Clark et al. 2019); sink = mean a_i0; distanceRest = distance with the first key removed and
    each row renormalised (what the heads do with the attention they do not park on the sink)."""
    out = []
    for a in atts:
        a = a[0].double()                                   # [H, T, T]
        H, T, _ = a.shape
        i = torch.arange(T)
        dist = (i[:, None] - i[None, :]).abs().double()
        ent = -(a.clamp_min(1e-30).log() * a).sum(-1)       # [H, T]
        norm_ent = (ent[:, 1:] / torch.log(i[1:].double() + 1)).mean(1)
        rest = a[:, 1:, 1:] / a[:, 1:, 1:].sum(-1, keepdim=True)
        out.append({"distance": round(float((a * dist).sum(-1).mean()), 3),
                    "distanceRest": round(float((rest * dist[1:, 1:]).sum(-1).mean()), 3),
                    "entropy": round(float(norm_ent.mean()), 4), "sink": round(float(a[:, :, 0].mean()), 4),
                    "byHead": [{"distance": round(float((a[h] * dist).sum(-1).mean()), 3), "entropy": round(float(norm_ent[h]), 4),
                                "sink": round(float(a[h, :, 0].mean()), 4)} for h in range(H)]})
    return out

def role_onsets(log):
    """First logged step at which some head's score on the training monitor reaches each role's threshold."""
    keys = {"previous-token": "prev", "induction": "indu", "duplicate-token": "dupl", "first-token-sink": "firs", "self": "self"}
    out = {}
    for role, k in keys.items():
        hit = next(((r["step"], h) for r in log for h, s in r["heads"].items() if s[k] >= THRESHOLDS[role]), None)
        out[role] = None if hit is None else {"step": hit[0], "head": hit[1]}
    return out

def main():
    meta, weights_file = load_run()
    picks, cross, top = pick(meta["log"])
    weights = {st: torch.load(weights_file(st)) for st in set(picks.values())}
    vocab, bos, c = meta["vocab"], meta["bos"], meta["config"]
    log = meta["log"]
    ordinary = json.load(open(os.environ.get("ORDINARY_IDS", os.path.join(WORK, "mini-ordinary-ids.json"))))["ids"]
    probe = ordinary_probe(ordinary, bos)
    low_probe = ordinary_probe([i for i in ordinary if i < meta["curriculum"]["lowIds"]], bos)
    ids = eval_ids()
    corpus0 = json.load(open(os.path.join(WORK, "corpus.json")))
    cur = meta["curriculum"]
    repeats = (f"random sequences repeated with a period of 8-{cur['pmax']}, drawn from the ordinary token ids below "
               f"{cur['lowIds']} for steps 0-{cur['lowUntil']} (in {c['ctx'] // 2}-token windows, {c['aug']:.0%} of rows), then from all "
               f"{len(ordinary)} ordinary ids ({c['ctx']}-token windows, {cur['augLong']:.0%} of rows)")
    shutil.rmtree(os.path.join(OUT, "checkpoints"), ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    shutil.copy(os.path.join(MINI, "tokenizer.json"), os.path.join(OUT, "tokenizer.json"))
    by_step = {r["step"]: r for r in log}
    timeline = [{"step": r["step"], "minutes": r["minutes"], "loss": r["loss"], "textLoss": r["textLoss"], "induction": r["induction"]} for r in log]

    def card_for(step, label, root=False):
        m = model_from(meta, rounded(weights[step]))
        with torch.no_grad():
            atts = m(probe)[1:]
            text_atts = m(torch.tensor([ids]))[1:]
        with torch.no_grad():                                 # the same probe over the frequent ids of the first phase
            low_atts = m(low_probe)[1:]
        low = {(s["layer"], s["head"]): round(s["scores"]["induction"], 4) for s in scores_from_attention(low_atts, L)}
        heads = []
        for s in scores_from_attention(atts, L):
            sc = {k: round(v, 4) for k, v in s["scores"].items()}
            heads.append({"layer": s["layer"], "head": s["head"], "roles": roles_from_scores(sc), "scores": sc,
                          "inductionOnFrequentIds": low[(s["layer"], s["head"])]})
        r = by_step[step]
        card = {
            "name": "headlight-small" if root else f"headlight-small@{step}",
            "description": (
                f"headlight-mini's architecture made deeper: a GPT-2-style causal transformer ({c['layers']} layers x {c['heads']} heads, "
                f"d_model {c['d']}, pre-LayerNorm, GELU MLP, fixed sinusoidal positions computed in the graph, so every position up "
                f"to maxPositions is defined; trained on {c['ctx']}-token windows) with headlight-mini's 2,048-token byte-level BPE "
                f"tokenizer, trained from scratch on the same corpus with rows replaced by {repeats}. Without the start on frequent ids "
                "no induction head formed in 8,000 steps (scripts/models/sweep_small.sh); the ordinary-id phase makes the induction "
                "heads work on any token. Weights are stored as float16 and cast to float32 in the graph. scores: measured in PyTorch "
                "on the shipped (float16-rounded) weights, on the 8 probe sequences below, defined as in headlight-mini's card "
                f"([<|endoftext|>, r, r], r = {L} distinct ordinary ids, seed {PROBE_SEED}); inductionOnFrequentIds: the same score "
                f"with r drawn from the ordinary ids below {cur['lowIds']} (the first phase's repeats). roles: score >= "
                + ", ".join(f"{k} {v}" for k, v in THRESHOLDS.items()) + "."
                + ("" if root else f" This is the {label} checkpoint (step {step})" + (": the bundled model itself." if label == "final" else "."))),
            "kind": "causal", "layers": c["layers"], "headsPerLayer": c["heads"], "dModel": c["d"], "vocabSize": vocab,
            "maxPositions": 1024, "inputs": ["input_ids"], "attentionOutputs": [f"attn.{i}" for i in range(c["layers"])],
            "specialTokens": {"bos": "<|endoftext|>", "eos": "<|endoftext|>"}, "opset": 14,
            "weights": "float16 initializers, Cast to float32 in the graph",
            "tokenizer": "tokenizer.json" if root else "../../tokenizer.json",
            "positions": f"sinusoidal (fixed, base {meta['positions']['base']:g}, amplitude {meta['positions']['pos_scale']:g}), computed from the sequence length",
            "corpus": [dict(x, note=f"plus rows replaced by {repeats}") for x in corpus0],
            "training": {"steps": step, "minutes": r["minutes"], "seed": c["seed"], "batch": c["batch"], "context": c["ctx"],
                         "loss": r["loss"] if r["loss"] is not None else 0, "textLoss": r["textLoss"], "device": meta["device"],
                         "torch": meta["torch"], "config": c, "curriculum": cur},
            "probe": {"seed": PROBE_SEED, "repeatLength": L, "drawnFrom": f"ordinary ids ({len(ordinary)})", "sequences": probe.tolist()},
            "heads": heads,
            "layerStats": {"text": " + ".join(f"samples/{f}" for f in EVAL_TEXT) + f", joined by blank lines, BOS first, first {len(ids)} tokens",
                           "inputIds": ids, "layers": layer_stats(text_atts)},
        }
        if not root: card["checkpoint"] = label
        return m, card

    ck = [{"label": k, "step": v, "path": f"checkpoints/step-{v:05d}/"} for k, v in picks.items()]
    m, card = card_for(picks["final"], "final", root=True)
    card["training"]["minutes"] = meta["minutes"]
    card.update({"inductionPhaseChange": {"step": cross, "maxInduction": top, "rule": "first logged step whose best induction score "
                 "(training monitor: 8 sequences of 50 ordinary ids, seed 99) reaches half its maximum"},
                 "roleOnsets": role_onsets(log), "checkpoints": ck,
                 "trainingLogNote": "induction = best head on the training monitor; textLoss = loss on 32 fixed text windows",
                 "trainingLog": timeline})
    export(m, os.path.join(OUT, "model.onnx")); to_fp16_weights(os.path.join(OUT, "model.onnx"))
    write_json(os.path.join(OUT, "card.json"), card, indent=1)
    full = model_from(meta, weights[picks["final"]])                   # unrounded: the float32 reference
    with torch.no_grad(): ref = full(torch.tensor([ids[:REF_LEN]]))[1:]
    write_json(os.path.join(OUT, "reference.json"), {"note": "attention of the unrounded float32 model (PyTorch) on inputIds; "
               "the shipped float16 weights must stay within 1e-3 (test/unit/models.test.ts)", "inputIds": ids[:REF_LEN],
               "attentionF32Base64": [base64.b64encode(a[0].numpy().astype("<f4").tobytes()).decode() for a in ref]})
    for h in card["heads"]: print(h["layer"], h["head"], h["roles"], h["scores"])
    for lay, s in enumerate(card["layerStats"]["layers"]): print("layer", lay, {k: v for k, v in s.items() if k != "byHead"})
    for label, step in picks.items():
        d = os.path.join(OUT, "checkpoints", f"step-{step:05d}")
        os.makedirs(d, exist_ok=True)
        m, cc = card_for(step, label)
        if label != "final":                                           # the final checkpoint is model.onnx itself
            export(m, os.path.join(d, "model.onnx")); to_fp16_weights(os.path.join(d, "model.onnx"))
        write_json(os.path.join(d, "card.json"), cc, indent=1)
        best = max(cc["heads"], key=lambda h: h["scores"]["induction"])
        bl = max(cc["heads"], key=lambda h: h["inductionOnFrequentIds"])
        print(f"{label} step {step}: best induction L{best['layer']}H{best['head']} = {best['scores']['induction']}; "
              f"on frequent ids L{bl['layer']}H{bl['head']} = {bl['inductionOnFrequentIds']}")

if __name__ == "__main__":
    main()
