# Exports headlight-mini and its checkpoints (init, before / after the induction phase change, final) to ONNX
# with attention outputs attn.0.., measures head scores and writes the cards. Only the final model ships
# (media/models/headlight-mini); its card lists the checkpoints' steps as training history, and the checkpoints
# themselves (float32, each with its card and a copy of the tokenizer, so Select Model… → Model folder… opens one)
# go to scripts/models/work/headlight-mini-checkpoints/ (MINI_CHECKPOINTS), which is not part of the extension:
# headlight-small's checkpoints carry the training ladder, and these were 6.8 MB of every download. The phase change is read
# from the induction score logged during training (work/mini-log.json), over the legs whose repeats drew ids < 512.
# A later leg (repeats from the ordinary ids, train_mini.py SYN_IDS) adds the end of the earlier legs as a checkpoint.
# Every card is measured on a probe of ordinary ids (the ids Headlight's repeat probe draws: the tokenizer produces
# them from text and they decode to printable text; scripts/models/ordinary_ids.ts), with <|endoftext|> prepended.
# usage: RUN=mini ORDINARY_IDS=work/mini-ordinary-ids.json python3 export_mini.py
#   (RUN names the training run in work/: RUN-log.json, RUN-ckpt/; ORDINARY_IDS defaults to that path)
import json, os, shutil
import torch
from common import MEDIA, WORK, write_json
from gpt import MiniGPT, scores_from_attention, roles_from_scores, THRESHOLDS

OUT = os.environ.get("MINI_OUT", os.path.join(MEDIA, "headlight-mini"))   # MINI_OUT: a dry run elsewhere
CK_OUT = os.environ.get("MINI_CHECKPOINTS", os.path.join(WORK, "headlight-mini-checkpoints"))   # not shipped
L, N, PROBE_SEED = 50, 8, 1234

def ordinary_probe(ids, bos):
    """[BOS, r, r]: r = L distinct ids drawn uniformly from the ordinary ids (seed PROBE_SEED), as Headlight draws."""
    g = torch.Generator().manual_seed(PROBE_SEED)
    ids = torch.tensor(sorted(ids), dtype=torch.int64)
    r = torch.stack([ids[torch.randperm(len(ids), generator=g)[:L]] for _ in range(N)])
    return torch.cat([torch.full((N, 1), bos), r, r], 1)

def pick_checkpoints(log, legs):
    """init, before, after (the phase change of the legs with repeats from ids < 512), their end, final."""
    last = legs[-1]["to"]
    early_end = max([lg["to"] for lg in legs if lg["syn"].startswith("ids <")] or [last])
    s = [(r["step"], r["induction"]) for r in log if r["step"] <= early_end]
    top = max(v for _, v in s)
    cross = next(st for st, v in s if v >= top / 2)                       # middle of the phase change
    low = [st for st, v in s if 0 < st < cross and v <= top * 0.25]  # still flat, just before the jump
    before = max(low) if low else max([st for st, _ in s if st < cross] or [0])
    after = next((st for st, v in s if st > cross and v >= top * 0.8), cross)
    picks = {"init": 0, "before": before, "after": after}
    if early_end != last: picks["leg2"] = early_end                       # the model before the ordinary-id leg
    picks["final"] = last
    return picks, cross, top

def export(m, path):
    x = torch.randint(0, 2047, (1, 16))
    names = ["logits"] + [f"attn.{i}" for i in range(len(m.blocks))]
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    for n in names[1:]: dyn[n] = {0: "batch", 2: "seq", 3: "seq"}
    torch.onnx.export(m, (x,), path, input_names=["input_ids"], output_names=names, dynamic_axes=dyn,
                      opset_version=14, do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    return names[1:]

def main():
    run = os.environ.get("RUN", "mini")
    meta = json.load(open(os.path.join(WORK, f"{run}-log.json")))
    pos = meta.get("positions", {"base": 10000.0, "pos_scale": 1.0})
    log, vocab, bos = meta["log"], meta["vocab"], meta["bos"]
    syn = meta.get("synVocab", bos)
    legs = meta.get("legs") or [{"from": 0, "to": meta["steps"], "syn": f"ids < {syn}"}]
    picks, cross, top = pick_checkpoints(log, legs)
    print("checkpoints", picks, "phase change at step", cross, "top induction", top)
    def repeats_for(step):
        later = [lg for lg in legs if not lg["syn"].startswith("ids <") and lg["from"] < step]
        if not later: return f"random sequences of token ids below {syn} repeated with a period of 8-63"
        return (f"random sequences repeated with a period of 8-63, of token ids below {syn} for steps 0-{later[0]['from']}, "
                f"then of ordinary token ids for steps {later[0]['from']}-{step}")
    corpus0 = json.load(open(os.path.join(WORK, "corpus.json")))
    ord_path = os.environ.get("ORDINARY_IDS", os.path.join(WORK, f"{run}-ordinary-ids.json"))
    ordinary = json.load(open(ord_path))["ids"]
    probe = ordinary_probe(ordinary, bos)
    shutil.rmtree(os.path.join(OUT, "checkpoints"), ignore_errors=True)   # none ship: clear any left from before
    shutil.rmtree(CK_OUT, ignore_errors=True)
    by_step = {r["step"]: r for r in log}

    def card_for(step, label, tok_ref, extra):
        m = MiniGPT(vocab, **pos); m.load_state_dict(torch.load(os.path.join(WORK, f"{run}-ckpt", f"step-{step:05d}.pt"))); m.eval()
        with torch.no_grad(): atts = m(probe)[1:]
        heads = []
        for s in scores_from_attention(atts, L):
            sc = {k: round(v, 4) for k, v in s["scores"].items()}
            heads.append({"layer": s["layer"], "head": s["head"], "roles": roles_from_scores(sc), "scores": sc})
        r = by_step[step]
        repeats = repeats_for(step)
        corpus = [dict(c, note=f"plus 25% of training rows replaced by {repeats}") for c in corpus0]
        card = {
            "name": "headlight-mini" if label is None else f"headlight-mini@{step}",
            "description": (
                "A GPT-2-style causal transformer (pre-LayerNorm, GELU MLP, fixed sinusoidal positions computed in the "
                "graph, so every position up to maxPositions is defined; trained on 128-token windows) with a 2,048-token "
                "byte-level BPE vocabulary trained by scripts/models/bpe_train.py. Trained from scratch on the corpus "
                f"below with 25% of rows replaced by {repeats} (without them "
                "no induction head forms in the time available" + ("; repeats of ids < 512 alone gave induction heads that "
                "fail on other tokens, so a last leg draws them from every ordinary id" if "ordinary" in repeats else "") + "). scores: measured on the 8 probe sequences below "
                f"([<|endoftext|>, r, r], r = {L} distinct token ids drawn uniformly from the model's {len(ordinary)} ordinary ids, "
                "the rule Headlight's repeat probe uses: ids the tokenizer produces from text and decodes to printable text; "
                f"seed {PROBE_SEED}); previous-token = mean "
                "A[i,i-1] over queries i >= 1; induction = mean over the second copy of A[i,i-L+1] (the token after the "
                "earlier copy); duplicate-token = mean over the second copy of A[i,i-L]; first-token-sink = mean A[i,0]; "
                "self = mean A[i,i]. A uniform causal head scores ~0.05 previous-token and ~0.013 induction here. "
                "roles: score >= " + ", ".join(f"{k} {v}" for k, v in THRESHOLDS.items()) + "." +
                ("" if label is None else f" This is the {label} checkpoint (step {step}).")),
            "kind": "causal", "layers": len(m.blocks), "headsPerLayer": m.blocks[0].h, "dModel": m.d, "vocabSize": vocab,
            "maxPositions": 1024, "inputs": ["input_ids"], "attentionOutputs": [f"attn.{i}" for i in range(len(m.blocks))],
            "specialTokens": {"bos": "<|endoftext|>", "eos": "<|endoftext|>"}, "opset": 14,
            "tokenizer": tok_ref, "positions": f"sinusoidal (fixed, base {pos['base']:g}, amplitude {pos['pos_scale']:g}), computed from the sequence length",
            "corpus": corpus,
            "training": {"steps": step, "minutes": r["minutes"], "seed": meta["seed"], "batch": meta["batch"],
                         "context": meta["context"], "loss": r["loss"] if r["loss"] is not None else 0,
                         **({"textLoss": r["textLoss"]} if "textLoss" in r else {}),
                         "legs": [dict(lg, to=min(lg["to"], step)) for lg in legs if lg["from"] < step or lg["from"] == 0]},
            "probe": {"seed": PROBE_SEED, "repeatLength": L, "drawnFrom": f"ordinary ids ({len(ordinary)})", "sequences": probe.tolist()},
            "heads": heads, **extra,
        }
        return m, card

    trainingNote = ("trainingLog: induction/previousToken = best head on the training monitor (8 sequences of ids < 512, seed 99); "
                    "inductionOrdinary/previousOrdinary = the same on ordinary ids (logged from the ordinary-id leg on); "
                    "textLoss = loss on 32 fixed text windows (no repeated rows); loss = the training batch's.")
    formed = top >= 0.1                                                  # else there was no phase change to find
    phase = {"inductionPhaseChange": None if not formed else {"step": cross, "rule": "first logged step of the legs with repeats of ids < 512 "
             "whose best induction score (training monitor: 8 sequences of ids < 512, seed 99) reaches half its maximum", "maxInduction": top},
             "inductionNote": None if formed else f"no induction head formed: best logged induction score {top}",
             "trainingLogNote": trainingNote,
             "trainingCheckpoints": [{"label": k, "step": v} for k, v in picks.items()],
             "trainingCheckpointsNote": "steps picked around the induction phase change; not shipped with the extension "
                                        "(headlight-small's checkpoints are): npm run models writes them to "
                                        "scripts/models/work/headlight-mini-checkpoints/",
             "trainingLog": [{k: r[k] for k in ("step", "minutes", "loss", "induction", "previousToken", "textLoss",
                                                "inductionOrdinary", "previousOrdinary") if k in r} for r in log]}
    os.makedirs(OUT, exist_ok=True)
    m, card = card_for(picks["final"], None, "tokenizer.json", phase)
    card["training"]["minutes"] = meta["minutes"]
    export(m, os.path.join(OUT, "model.onnx"))
    write_json(os.path.join(OUT, "card.json"), card, indent=1)
    for h in card["heads"]: print(h["layer"], h["head"], h["roles"], h["scores"])
    for label, step in picks.items():
        if label == "final": continue                                    # the final checkpoint is the model itself
        d = os.path.join(CK_OUT, f"step-{step:05d}")
        os.makedirs(d, exist_ok=True)
        m, c = card_for(step, label, "tokenizer.json", {"checkpoint": label})
        export(m, os.path.join(d, "model.onnx"))
        shutil.copyfile(os.path.join(MEDIA, "headlight-mini", "tokenizer.json"), os.path.join(d, "tokenizer.json"))
        write_json(os.path.join(d, "card.json"), c, indent=1)
        best = max(c["heads"], key=lambda h: h["scores"]["induction"])
        print(f"{label} step {step}: best induction L{best['layer']}H{best['head']} = {best['scores']['induction']}")

if __name__ == "__main__":
    main()
