# Picks headlight-small's bundled checkpoints from its training log (work/small-log.json): the start, the
# last step before the induction phase change, the middle of it, the first step after it, and the end.
# The phase change is read from the best induction score on the training monitor (ordinary ids).
import json, os, sys

def pick(log):
    s = [(r["step"], r["induction"]) for r in log]
    top, last = max(v for _, v in s), s[-1][0]
    cross = next(st for st, v in s if v >= top / 2)                       # middle of the phase change
    before = max([st for st, v in s if 0 < st < cross and v <= top * 0.25] or [0])
    after = next((st for st, v in s if st > cross and v >= top * 0.8), cross)
    picks = {"init": 0, "before": before, "during": cross, "after": after, "final": last}
    if len(set(picks.values())) < 5:                                      # a change too sharp to split: add a midpoint
        picks["late"] = min((st for st, _ in s if st > after), key=lambda st: abs(st - (after + last) / 2), default=last)
    return picks, cross, top

if __name__ == "__main__":
    log = json.load(open(sys.argv[1]))["log"]
    print(json.dumps(pick(log)))
