# Trains headlight-mini on the encoded corpus with 25% rows of repeated random token sequences (without
# them no induction head forms in the time we have). Logs the best induction score every 100 steps and
# keeps a state_dict at each log step, so export_mini.py can pick checkpoints around the phase change.
# usage: python3 train_mini.py MINUTES [MAX_STEPS]   (CONTINUE=1: resume RUN to a new total)   (stops at whichever comes first; a step cap makes
# rebuilds on a faster or slower machine see the same batches)
# Env for later legs (all unset: legs 1-2 exactly as committed): SYN_IDS=ids.json ({"ids": [...]}, e.g. the ordinary
# ids from ordinary_ids.ts) draws the repeated sequences uniformly from that list instead of ids < SYN_VOCAB;
# MONITOR_IDS (default SYN_IDS) adds a second monitor probe drawn from that list (inductionOrdinary, previousOrdinary);
# LEG_SEED (default 1) seeds a continued leg; LEG_WARMUP=1 warms the fresh optimizer up over 100 steps of the leg.
import json, os, sys, time
import numpy as np, torch, torch.nn.functional as F
from common import WORK
from gpt import MiniGPT, probe_batch, scores_from_attention

SEED, CTX, BATCH, AUG, VOCAB, BOS = 0, 128, 32, 0.25, 2048, 2047
# Sinusoid base 500 (not 10000): every pair of dims then varies within 1,024 positions, and neighbouring
# positions differ enough for a previous-token head to form quickly; scaled to the token embeddings' norm.
POS = {"base": float(os.environ.get("POS_BASE", 500)), "pos_scale": float(os.environ.get("POS_SCALE", 1.414))}
RUN = os.environ.get("RUN", "mini")
# Repeated random sequences draw from the 512 lowest ids (bytes + the first merges): a 32-dim head cannot
# tell 2,047 random tokens apart well enough to copy them in the time we have; 512 is still 5x the
# 95 printable bytes that worked for a byte-level model. The probe uses the same range.
SYN = int(os.environ.get("SYN_VOCAB", 512))
SYN_IDS = os.environ.get("SYN_IDS")
MONITOR_IDS = os.environ.get("MONITOR_IDS", SYN_IDS)
LOG_EVERY = 100

def id_list(path):
    return torch.tensor(sorted(json.load(open(path))["ids"]), dtype=torch.int64)

def probe_from_ids(ids, L=50, n=8, seed=99, bos=2047):
    """[BOS, r, r] with r drawn uniformly from the id list (as probe_batch, over a list instead of a range)."""
    g = torch.Generator().manual_seed(seed)
    r = ids[torch.randint(0, len(ids), (n, L), generator=g)]
    return torch.cat([torch.full((n, 1), bos), r, r], 1)

def main():
    torch.manual_seed(SEED); np.random.seed(SEED); torch.set_num_threads(1)
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 16
    max_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10 ** 9
    data = torch.from_numpy(np.fromfile(os.path.join(WORK, "corpus.u16"), dtype=np.uint16).astype(np.int64))
    m = MiniGPT(VOCAB, **POS)
    print("params", sum(p.numel() for p in m.parameters()), "tokens", len(data), flush=True)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    ck = os.path.join(WORK, f"{RUN}-ckpt"); os.makedirs(ck, exist_ok=True)
    probe = probe_batch(SYN, L=50, n=8, seed=99, bos=BOS)      # training-time monitor (a different seed from the card's)
    probe2 = probe_from_ids(id_list(MONITOR_IDS), bos=BOS) if MONITOR_IDS else None
    syn_ids = id_list(SYN_IDS) if SYN_IDS else None
    tg = torch.Generator().manual_seed(7)                       # fixed text-only windows: loss on text alone
    text = torch.stack([data[i:i + CTX] for i in torch.randint(0, len(data) - CTX, (32,), generator=tg)])
    g = torch.Generator().manual_seed(SEED)
    t0, step, log, legs = time.time(), 0, [], []
    prev_minutes = 0.0
    if os.environ.get("CONTINUE"):   # later leg: continue RUN from its last checkpoint (fresh optimizer, seed LEG_SEED)
        old = json.load(open(os.path.join(WORK, f"{RUN}-log.json")))
        log, step, prev_minutes, legs = old["log"], old["steps"], old["minutes"], old.get("legs", [])
        m.load_state_dict(torch.load(os.path.join(ck, f"step-{step:05d}.pt")))
        leg_seed = int(os.environ.get("LEG_SEED", SEED + 1))
        g.manual_seed(leg_seed); torch.manual_seed(leg_seed)
        t0 -= prev_minutes * 60
    start = step
    legs.append({"from": start, "seed": int(os.environ.get("LEG_SEED", SEED + 1)) if os.environ.get("CONTINUE") else SEED,
                 "syn": f"ordinary ids ({len(syn_ids)}, {os.path.basename(SYN_IDS)})" if SYN_IDS else f"ids < {SYN}"})

    def record(loss, into=None):
        m.eval()
        with torch.no_grad():
            s = scores_from_attention(m(probe)[1:], 50)
            s2 = scores_from_attention(m(probe2)[1:], 50) if probe2 is not None else None
            x = torch.cat([torch.full((len(text), 1), BOS), text[:, :-1]], 1)
            tl = F.cross_entropy(m(x)[0].reshape(-1, VOCAB), text.reshape(-1)).item()
        m.train()
        bi = max(s, key=lambda r: r["scores"]["induction"]); bp = max(s, key=lambda r: r["scores"]["previous-token"])
        rec = {"step": step, "minutes": round((time.time() - t0) / 60, 2), "loss": loss,
               "induction": round(bi["scores"]["induction"], 4), "inductionHead": [bi["layer"], bi["head"]],
               "previousToken": round(bp["scores"]["previous-token"], 4), "previousHead": [bp["layer"], bp["head"]],
               "textLoss": round(tl, 4)}
        if s2 is not None:
            bi = max(s2, key=lambda r: r["scores"]["induction"]); bp = max(s2, key=lambda r: r["scores"]["previous-token"])
            rec.update({"inductionOrdinary": round(bi["scores"]["induction"], 4), "inductionOrdinaryHead": [bi["layer"], bi["head"]],
                        "previousOrdinary": round(bp["scores"]["previous-token"], 4), "previousOrdinaryHead": [bp["layer"], bp["head"]],
                        "inductionOrdinaryByHead": {f"L{r['layer']}H{r['head']}": round(r["scores"]["induction"], 4) for r in s2 if r["layer"] > 0}})
        if into is not None:                                   # complete the previous leg's last record (same weights)
            into.update({k: v for k, v in rec.items() if k not in ("step", "minutes", "loss")}); print(json.dumps(into), flush=True); return
        print(json.dumps(rec), flush=True); log.append(rec)
        torch.save(m.state_dict(), os.path.join(ck, f"step-{step:05d}.pt"))

    if not log: record(None)
    elif "textLoss" not in log[-1] or (probe2 is not None and "inductionOrdinary" not in log[-1]): record(log[-1]["loss"], into=log[-1])
    while time.time() - t0 < minutes * 60 and step < max_steps:
        ix = torch.randint(0, len(data) - CTX, (BATCH,), generator=g)
        w = torch.stack([data[i:i + CTX] for i in ix])
        for r in range(int(BATCH * AUG)):                          # repeated random token sequences, period 8..63
            L = int(torch.randint(8, 64, (1,), generator=g))
            if syn_ids is None: w[r] = torch.randint(0, SYN, (L,), generator=g).repeat(CTX // L + 1)[:CTX]
            else: w[r] = syn_ids[torch.randint(0, len(syn_ids), (L,), generator=g)].repeat(CTX // L + 1)[:CTX]
        x = torch.cat([torch.full((BATCH, 1), BOS), w[:, :-1]], 1)  # [BOS, t0..t126] predicts [t0..t127]
        warm = (step - start + 1) if os.environ.get("LEG_WARMUP") else (step + 1)
        for gr in opt.param_groups: gr["lr"] = 2e-3 * min(1, warm / 100)
        loss = F.cross_entropy(m(x)[0].reshape(-1, VOCAB), w.reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        if step % LOG_EVERY == 0: record(round(loss.item(), 4))
    if step % LOG_EVERY: record(round(loss.item(), 4))
    legs[-1]["to"] = step
    with open(os.path.join(WORK, f"{RUN}-log.json"), "w") as f:
        json.dump({"seed": SEED, "batch": BATCH, "context": CTX, "aug": AUG, "vocab": VOCAB, "bos": BOS,
                   "steps": step, "positions": POS, "synVocab": SYN, "legs": legs, "minutes": round((time.time() - t0) / 60, 2), "log": log}, f, indent=1)
    print(f"trained {step} steps in {(time.time() - t0) / 60:.1f} min", flush=True)

if __name__ == "__main__":
    main()
