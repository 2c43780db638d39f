#!/usr/bin/env python3
"""Pairwise AUC of user types from per-user gates: python3 scripts/gate_auc.py GATES.tsv TYPES.txt

GATES.tsv from `mclmr eval --gates`, TYPES.txt a `user type` file (the routing generator's
truth/user_types.txt). For every pair of types it prints the best AUC over the gate columns,
the effective evidence weights and each evidence weight's share (max(AUC, 1 - AUC)).
"""
import sys, csv
gates, types = sys.argv[1], sys.argv[2]
t = dict(l.split() for l in open(types) if l.strip())
rows = list(csv.DictReader(open(gates), delimiter='\t'))
cols = [c for c in rows[0] if c != 'user']
def auc(pos, neg):
    import bisect
    neg = sorted(neg); n = 0.0
    for p in pos:
        lo = bisect.bisect_left(neg, p); hi = bisect.bisect_right(neg, p); n += lo + 0.5 * (hi - lo)
    return n / (len(pos) * len(neg))
by = {}
for r in rows:
    ty = t.get(r['user']);
    if ty: by.setdefault(ty, []).append(r)
kinds = sorted(by)
out = []
for c in cols:
    for i, a in enumerate(kinds):
        for b in kinds[i+1:]:
            x = auc([float(r[c]) for r in by[a]], [float(r[c]) for r in by[b]])
            out.append((max(x, 1-x), c, a, b))
# evidence share of the first behavior among evidence columns
ev = [c for c in cols if c.startswith('evidence_')]
if len(ev) >= 2:
    def share(r, c): s = sum(float(r[e]) for e in ev); return float(r[c]) / s if s > 0 else 0.5
    for c in ev:
        for i, a in enumerate(kinds):
            for b in kinds[i+1:]:
                x = auc([share(r, c) for r in by[a]], [share(r, c) for r in by[b]])
                out.append((max(x, 1-x), 'share_' + c, a, b))
best = {}
for v, c, a, b in out:
    k = (a, b)
    if v > best.get(k, (0,))[0]: best[k] = (v, c)
for k, (v, c) in sorted(best.items()): print(f"AUC {k[0]} vs {k[1]}: {v:.3f} ({c})")
