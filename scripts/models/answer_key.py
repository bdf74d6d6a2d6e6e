# The answer key for the byte models: per-head attention scores computed in PyTorch the way TransformerLens
# and Olsson et al. (2022) compute them, and a decision rule that turns them into ground-truth role sets.
# Nothing here reads Headlight's code or output: the key is an independent measurement of the trained model.
import torch
from bytes_gpt import BOS

PRINTABLE = torch.arange(0x20, 0x7F)     # the 95 printable ASCII bytes: ordinary tokens the model saw in training
ALNUM = torch.tensor(list(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))  # the repeat rows' alphabet
OTHER_PRINTABLE = torch.tensor([b for b in range(0x20, 0x7F) if b not in ALNUM.tolist()])   # 33: space and punctuation
KEY_SEEDS = list(range(1000, 1032))      # 32 probe sequences, one per seed

# Decision rule (fixed before any model was measured; see the card's answerKey.rule for the prose):
POSITIVE_RAW = {"induction": 0.3, "duplicate-token": 0.3, "previous-token": 0.5}
POSITIVE_EXCL, MIN_REST = 0.5, 0.2      # sink-aware: first-token-excluded score >= 0.5 on rows that keep >= 0.2 of their mass
CLEARLY_NOT_RAW, CLEARLY_NOT_EXCL = 0.1, 0.2


def probe_batch(T, seeds=KEY_SEEDS, pool=PRINTABLE):
    """[BOS, r_1..r_T, r_1..r_T], r = T distinct printable bytes (a seeded permutation of all 95), one row per seed."""
    rows = []
    for s in seeds:
        g = torch.Generator().manual_seed(s)
        r = pool[torch.randperm(len(pool), generator=g)[:T]]
        rows.append(torch.cat([torch.tensor([BOS]), r, r]))
    return torch.stack(rows)


def text_batch(texts, P):
    """Natural text as the tokenizer gives it to the model: [BOS] + the first P - 1 bytes of each text."""
    rows = []
    for t in texts:
        b = list(t.encode("utf-8"))[:P - 1]
        assert len(b) == P - 1, "every text window must fill the context"
        rows.append(torch.tensor([BOS] + b))
    return torch.stack(rows)


def _excl(a, q, k):
    """A[q, k] renormalised without the first token: A[q, k] / (1 - A[q, 0])."""
    return a[..., q, k] / (1 - a[..., q, 0]).clamp_min(1e-12)


def previous_scores(a):
    """a: [n, H, L, L]. TransformerLens previous-token score sum_{i>=1} A[i,i-1] / sum A, its first-token-excluded
    version (rows i >= 2 renormalised without column 0, mean of A'[i,i-1]), TL's own exclude_bos (column 0 zeroed,
    divided by what remains), first-token mass and rest mass (mean over i >= 1 of A[i,0] and 1 - A[i,0])."""
    L = a.shape[-1]
    qa, q2 = torch.arange(1, L), torch.arange(2, L)
    prev = a[..., qa, qa - 1].sum(-1) / a.sum((-1, -2))
    prev_x = _excl(a, q2, q2 - 1).mean(-1)
    tl_x = a[..., q2, q2 - 1].sum(-1) / a[..., :, 1:].sum((-1, -2))
    first = a[..., qa, 0].mean(-1)
    return {"previous": prev, "previousExclFirst": prev_x, "previousTlExcludeBos": tl_x,
            "firstToken": first, "restMass": 1 - first}


def probe_scores(a, T):
    """a: [n, H, 2T+1, 2T+1] on probe_batch. Olsson/TL prefix-matching (induction) A[i, i-T+1] and duplicate-token
    A[i, i-T], means over the T second-copy queries i = T+1..2T; raw and first-token-excluded."""
    q = torch.arange(T + 1, 2 * T + 1)
    s = {"induction": a[..., q, q - T + 1].mean(-1), "inductionExclFirst": _excl(a, q, q - T + 1).mean(-1),
         "duplicate": a[..., q, q - T].mean(-1), "duplicateExclFirst": _excl(a, q, q - T).mean(-1),
         "restMassSecondCopy": (1 - a[..., q, 0]).mean(-1)}
    s.update(previous_scores(a))
    return s


def chance(P, T):
    """What a head attending uniformly over its visible keys scores (the rule's thresholds sit far above it)."""
    L = 2 * T + 1
    ind = sum(1 / (i + 1) for i in range(T + 1, L)) / T
    prev_text = sum(1 / (i + 1) for i in range(1, P)) / P
    prev_x = sum(1 / i for i in range(2, P)) / (P - 2)
    return {"induction": round(ind, 4), "duplicate": round(ind, 4), "previousText": round(prev_text, 4),
            "previousTextExclFirst": round(prev_x, 4)}


def classify(raw, excl, rest, positive_raw):
    if raw >= positive_raw or (excl >= POSITIVE_EXCL and rest >= MIN_REST):
        return "yes"
    if raw < CLEARLY_NOT_RAW and excl < CLEARLY_NOT_EXCL:
        return "clearly-not"
    return "ambiguous"


@torch.no_grad()
def answer_key(model, P, texts, T=None, seeds=KEY_SEEDS, extra_texts=None):
    """Per-head scores and role verdicts. texts: natural-text strings of >= P - 1 bytes (their first P - 1 are used)."""
    model.eval()
    T = T or min(64, (P - 1) // 2)
    probe = probe_batch(T, seeds)
    pa = model(probe)[1:]
    ta = model(text_batch(texts, P))[1:]
    heads = []
    r4 = lambda v: round(float(v), 4)
    # Induction on probes drawn from the repeat rows' alphabet alone and from the other printable bytes alone
    # (T' = min(T, pool size) distinct bytes, the same seeds): a head may copy letters and not punctuation.
    # Not used for "yes"; "clearly not induction" must hold on both as well.
    sub = {}
    for label, pool in (("Alnum", ALNUM), ("OtherPrintable", OTHER_PRINTABLE)):
        Ts = min(T, len(pool))
        sub[label] = [probe_scores(a, Ts)["induction"].mean(0) for a in model(probe_batch(Ts, seeds, pool))[1:]]
    for l, (ap, at) in enumerate(zip(pa, ta)):
        ps, ts = probe_scores(ap, T), previous_scores(at)
        for h in range(ap.shape[1]):
            p = {k: r4(v[:, h].mean()) for k, v in ps.items()}
            p["inductionStd"] = r4(ps["induction"][:, h].std())       # spread over the 32 probe sequences
            p["duplicateStd"] = r4(ps["duplicate"][:, h].std())
            for label in sub: p["inductionOn" + label] = r4(sub[label][l][h])
            t = {k: r4(v[:, h].mean()) for k, v in ts.items()}
            verdict = {
                "induction": classify(p["induction"], p["inductionExclFirst"], p["restMassSecondCopy"], POSITIVE_RAW["induction"]),
                "duplicate-token": classify(p["duplicate"], p["duplicateExclFirst"], p["restMassSecondCopy"], POSITIVE_RAW["duplicate-token"]),
                "previous-token": classify(t["previous"], t["previousExclFirst"], t["restMass"], POSITIVE_RAW["previous-token"]),
            }
            if verdict["induction"] == "clearly-not" and max(p["inductionOn" + x] for x in sub) >= CLEARLY_NOT_RAW:
                verdict["induction"] = "ambiguous"
            # "clearly not previous-token" must hold on the probe as well as on text.
            if verdict["previous-token"] == "clearly-not" and not (p["previous"] < CLEARLY_NOT_RAW and p["previousExclFirst"] < CLEARLY_NOT_EXCL):
                verdict["previous-token"] = "ambiguous"
            heads.append({"layer": l, "head": h, "id": f"L{l}H{h}", "probe": p, "text": t, "verdict": verdict})
    roles = {r: [x["id"] for x in heads if x["verdict"][r] == "yes"] for r in POSITIVE_RAW}
    clearly_not = {r: [x["id"] for x in heads if x["verdict"][r] == "clearly-not"] for r in POSITIVE_RAW}
    out = {"T": T, "probeLength": 2 * T + 1, "probeSeeds": seeds, "textWindows": len(texts),
           "chance": chance(P, T), "roles": roles, "clearlyNot": clearly_not, "heads": heads}
    if extra_texts:
        out["selections"] = []
        for name, s in extra_texts:
            ids = torch.tensor([[BOS] + list(s.encode("utf-8"))])
            a = model(ids)[1:]
            per = []
            for l, al in enumerate(a):
                ts = previous_scores(al)
                per += [{"id": f"L{l}H{h}", **{k: r4(v[0, h]) for k, v in ts.items()}} for h in range(al.shape[1])]
            out["selections"].append({"name": name, "text": s, "tokens": ids.shape[1], "heads": per})
    return out
