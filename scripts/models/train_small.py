# Trains headlight-small: the same GPT-2-style model as headlight-mini (gpt.py), deeper (4 layers) and on
# 256-token windows, with the same tokenizer and corpus. A share of rows (AUG) are random sequences of the
# tokenizer's ordinary ids (scripts/models/ordinary_ids.ts: the ids Headlight's repeat probe draws) repeated
# with a period of 8..PMAX, so its induction heads work on any token. The defaults below are the committed
# recipe (frequent ids and short windows first, then every ordinary id; build-all.sh and device_small.sh run
# them as they are); sweep_small.sh overrides them and shows why a start on every id formed no induction head
# in the time we have.
# Every LOG_EVERY steps it logs every head's scores on a fixed probe of ordinary ids and keeps the weights,
# so export_small.py can pick checkpoints around the induction phase change and say when each role appears.
# Resumable: the full state (weights, optimizer, data generator, log) is saved every SAVE_EVERY steps, and a
# stopped run started again with the same arguments continues from there and sees the same batches.
# usage: python3 train_small.py MINUTES MAX_STEPS     (stops at whichever comes first; the step cap decides
# what is bundled, so a faster or slower machine trains the same model; runs on CUDA when there is one)
import json, os, sys, time
import numpy as np, torch, torch.nn.functional as F
from common import WORK
from gpt import MiniGPT, scores_from_attention

CFG = {k: type(v)(os.environ.get(k.upper(), v)) for k, v in
       {"layers": 4, "heads": 4, "d": 128, "ctx": 256, "batch": 16, "lr": 1.5e-3, "aug": 0.5, "seed": 0}.items()}
VOCAB, BOS = 2048, 2047                     # headlight-mini's tokenizer: 2,047 BPE ids + <|endoftext|>
POS = {"base": 500.0, "pos_scale": 1.414}   # as headlight-mini (gpt.py): fixed sinusoid, defined to 1,024 positions
RUN = os.environ.get("RUN", "small")
# Curriculum (0 = off): repeats drawn from the ordinary ids below LOW_IDS until step LOW_UNTIL (frequent tokens
# whose embeddings text has already trained), windows of CTX/2 x 2*BATCH with AUG of the rows repeated until
# SHORT_UNTIL, then CTX-long windows with AUG_LONG of them; PMAX = the longest repeat period (0: half the window).
CUR = {k: type(v)(os.environ.get(k, v)) for k, v in
       {"LOW_IDS": 512, "LOW_UNTIL": 2500, "SHORT_UNTIL": 2500, "AUG_LONG": 0.25, "PMAX": 63}.items()}
LOW_IDS, LOW_UNTIL, SHORT_UNTIL, AUG_LONG, PMAX = CUR.values()
LOG_EVERY, SAVE_EVERY, WARMUP, PROBE_L = 100, 100, 200, 50
CTX, BATCH = CFG["ctx"], CFG["batch"]

def ordinary_ids():
    path = os.environ.get("SYN_IDS", os.path.join(WORK, "mini-ordinary-ids.json"))
    return torch.tensor(sorted(json.load(open(path))["ids"]), dtype=torch.int64)

def monitor_probe(ids, n=8, seed=99):
    """[BOS, r, r], r = PROBE_L distinct ordinary ids (a different seed from the card's probe)."""
    g = torch.Generator().manual_seed(seed)
    r = torch.stack([ids[torch.randperm(len(ids), generator=g)[:PROBE_L]] for _ in range(n)])
    return torch.cat([torch.full((n, 1), BOS), r, r], 1)

def lr_at(step, total):
    """Linear warm-up, then cosine decay to 10% at the step cap."""
    if step < WARMUP: return CFG["lr"] * (step + 1) / WARMUP
    p = min(1.0, (step - WARMUP) / max(1, total - WARMUP))
    return CFG["lr"] * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * p)))

def main():
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 100
    max_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(CFG["seed"]); torch.set_num_threads(int(os.environ.get("THREADS", 1)))
    data = torch.from_numpy(np.fromfile(os.path.join(WORK, "corpus.u16"), dtype=np.uint16).astype(np.int64))
    ids = ordinary_ids()
    low = ids[ids < LOW_IDS] if LOW_IDS else ids
    m = MiniGPT(VOCAB, n_layer=CFG["layers"], n_head=CFG["heads"], d=CFG["d"], **POS).to(dev)
    opt = torch.optim.AdamW(m.parameters(), lr=CFG["lr"], weight_decay=0.01)
    ck = os.path.join(WORK, f"{RUN}-ckpt"); os.makedirs(ck, exist_ok=True)
    probe = monitor_probe(ids).to(dev)
    tg = torch.Generator().manual_seed(7)                  # fixed text-only windows: loss on text alone
    text = torch.stack([data[i:i + CTX] for i in torch.randint(0, len(data) - CTX, (32,), generator=tg)]).to(dev)
    g = torch.Generator().manual_seed(CFG["seed"])
    step, log, spent = 0, [], 0.0
    state = os.path.join(ck, "resume.pt")
    if os.path.exists(state):                             # resume a stopped run where it was saved
        s = torch.load(state)
        m.load_state_dict(s["model"]); opt.load_state_dict(s["opt"]); g.set_state(s["gen"])
        step, log, spent = s["step"], s["log"], s["minutes"]
        print(f"resuming at step {step} ({spent:.1f} min spent)", flush=True)
    t0 = time.time() - spent * 60
    print("params", sum(p.numel() for p in m.parameters()), "tokens", len(data), "config", CFG, "device", dev, flush=True)

    def record(loss):
        m.eval()
        with torch.no_grad():
            s = scores_from_attention([a.float().cpu() for a in m(probe)[1:]], PROBE_L)
            x = torch.cat([torch.full((len(text), 1), BOS, device=dev), text[:, :-1]], 1)
            tl = F.cross_entropy(m(x)[0].reshape(-1, VOCAB), text.reshape(-1)).item()
        m.train()
        bi = max(s, key=lambda r: r["scores"]["induction"])
        rec = {"step": step, "minutes": round((time.time() - t0) / 60, 2), "loss": loss, "textLoss": round(tl, 4),
               "induction": round(bi["scores"]["induction"], 4), "inductionHead": [bi["layer"], bi["head"]],
               "heads": {f"L{r['layer']}H{r['head']}": {k[:4]: round(v, 3) for k, v in r["scores"].items()} for r in s}}
        print(json.dumps({k: v for k, v in rec.items() if k != "heads"}), flush=True)
        log.append(rec)
        torch.save({k: v.cpu() for k, v in m.state_dict().items()}, os.path.join(ck, f"step-{step:05d}.pt"))

    if not log: record(None)
    loss = None
    while time.time() - t0 < minutes * 60 and step < max_steps:
        ctx, batch = (CTX // 2, BATCH * 2) if step < SHORT_UNTIL else (CTX, BATCH)
        pool = low if step < LOW_UNTIL else ids
        ix = torch.randint(0, len(data) - ctx, (batch,), generator=g)
        w = torch.stack([data[i:i + ctx] for i in ix])
        for r in range(int(batch * (CFG["aug"] if step < SHORT_UNTIL else AUG_LONG))):           # repeated random ordinary-id sequences
            L = int(torch.randint(8, min(PMAX or ctx // 2, ctx // 2), (1,), generator=g))
            w[r] = pool[torch.randint(0, len(pool), (L,), generator=g)].repeat(ctx // L + 1)[:ctx]
        w = w.to(dev)
        x = torch.cat([torch.full((batch, 1), BOS, device=dev), w[:, :-1]], 1)   # [BOS, t0..] predicts [t0..]
        for gr in opt.param_groups: gr["lr"] = lr_at(step, max_steps)
        loss = F.cross_entropy(m(x)[0].reshape(-1, VOCAB), w.reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        if step % LOG_EVERY == 0: record(round(loss.item(), 4))
        if step % SAVE_EVERY == 0:
            torch.save({"model": m.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(), "step": step,
                        "log": log, "minutes": (time.time() - t0) / 60}, state + ".tmp")
            os.replace(state + ".tmp", state)
    if step % LOG_EVERY and loss is not None: record(round(loss.item(), 4))
    done = step >= max_steps
    with open(os.path.join(WORK, f"{RUN}-log.json"), "w") as f:
        json.dump({"config": CFG, "curriculum": {"lowIds": LOW_IDS, "lowUntil": LOW_UNTIL, "shortUntil": SHORT_UNTIL, "pmax": PMAX, "augLong": AUG_LONG}, "vocab": VOCAB, "bos": BOS, "positions": POS, "steps": step, "maxSteps": max_steps,
                   "complete": done, "device": dev, "torch": torch.__version__,
                   "minutes": round((time.time() - t0) / 60, 2), "log": log}, f, indent=1)
    print(f"trained {step} steps in {(time.time() - t0) / 60:.1f} min" + ("" if done else " (stopped by the minute cap: run again to resume)"), flush=True)

if __name__ == "__main__":
    main()
