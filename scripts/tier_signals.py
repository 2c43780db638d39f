#!/usr/bin/env python3
"""What orders items inside the rule's tiers on Taobao (docs/RESULTS.md).

The rule "viewed, then carted, then popular" puts the user's viewed-and-carted items first,
then viewed-only, then carted-only, then everything else, each tier ordered by buy popularity.
This script keeps those tiers and swaps the order inside them for other item signals, all
computed from the training files only, and prints HR@10 / NDCG@10 on test.txt with the
protocol of METHOD.md §7 (full ranking, the user's training buys masked; all 92,180 training
buys kept, as in METHOD.md §7's rule figures). Ties break by item id. Standard library only:

    python3 scripts/tier_signals.py [DATA_DIR]      # default ../shared/data/taobao, ~1 min
"""
import collections
import math
import sys


def pairs(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) >= 2:
                out.append((int(p[0]), int(p[1])))
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/taobao"
    buy, view, cart = pairs(f"{d}/train.txt"), pairs(f"{d}/view.txt"), pairs(f"{d}/cart.txt")
    test = pairs(f"{d}/test.txt")
    items = sorted({i for _, i in buy + view + cart + test})
    seen = collections.defaultdict(set)
    carted = collections.defaultdict(set)
    bought = collections.defaultdict(set)
    for u, i in view:
        seen[u].add(i)
    for u, i in cart:
        carted[u].add(i)
    for u, i in buy:
        bought[u].add(i)
    n_buy = collections.Counter(i for _, i in buy)
    n_view = collections.Counter(i for _, i in view)
    n_cart = collections.Counter(i for _, i in cart)
    n_all = n_buy + n_view + n_cart
    bought_by_viewers = collections.Counter(i for u, i in buy if i in seen[u])

    signals = {
        "buy popularity (the rule)": lambda i: n_buy[i],
        "view popularity": lambda i: n_view[i],
        "cart popularity": lambda i: n_cart[i],
        "buys by users who viewed it": lambda i: bought_by_viewers[i],
        "buy share of its interactions, (b+0.5)/(t+5)": lambda i: (n_buy[i] + 0.5) / (n_all[i] + 5),
        "conversion among viewers, (b_v+0.5)/(v+5)": lambda i: (bought_by_viewers[i] + 0.5)
        / (n_view[i] + 5),
    }
    print(f"{d}: {len(test)} test users, {len(items)} items")
    print("| order inside the tiers | HR@10 | NDCG@10 |\n|---|---:|---:|")
    for name, sig in signals.items():
        s = {i: sig(i) for i in items}
        # Items outside every tier, ordered by (signal desc, id asc): rank = position.
        order = sorted(items, key=lambda i: (-s[i], i))
        pos = {i: k for k, i in enumerate(order)}

        def key(u, i):
            return (2 * (i in seen[u]) + (i in carted[u]), s[i], -i)

        hr = nd = 0.0
        for u, t in test:
            v, c, b = seen[u], carted[u], bought[u]
            tiered = [i for i in v | c if i not in b and i != t]
            kt = key(u, t)
            if t in v or t in c:
                better = sum(1 for i in tiered if key(u, i) > kt)
            else:
                # Every tiered item ranks above t; outside the tiers count the items before t
                # in the global order that are neither tiered nor masked.
                before = pos[t] - sum(1 for i in b | v | c if i != t and pos.get(i, 1 << 30) < pos[t])
                better = len(tiered) + before
            if better < 10:
                hr += 1
                nd += 1 / math.log2(better + 2)
        n = len(test)
        print(f"| {name} | {hr / n:.4f} | {nd / n:.4f} |")


if __name__ == "__main__":
    main()
