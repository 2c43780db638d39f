#!/usr/bin/env python3
"""Train and evaluate config variants side by side (docs/MODEL.md).

    python3 scripts/variants.py DATA BASE.toml|- EPOCHS 'name:[section];key=value|[section];key=value' ...

Each variant is BASE (or the built-in defaults for `-`) with the given keys set (`;` separates
lines, `|` separates TOML chunks); it runs `mclmr train` and `mclmr eval` for every seed in
$SEEDS (default 42; comma-separated) and prints test HR@10 / NDCG@10 of `do` and `raw`, the
interventional NDCG@10 when the data has test_do.txt, the best epochs and seconds per epoch.
$BACKBONE overrides the backbone; $MCLMR_BIN the binary (default target/release/mclmr).
"""
import json, subprocess, sys, os, tempfile
B = os.environ.get("MCLMR_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "mclmr"))
data, base, epochs = sys.argv[1], sys.argv[2], sys.argv[3]
seeds = os.environ.get("SEEDS", "42").split(",")
extra = os.environ.get("BACKBONE", "")
for spec in sys.argv[4:]:
    name, _, toml = spec.partition(":")
    rows = []
    for seed in seeds:
        base_txt = open(base).read() if base != "-" else ""
        # merge: append sections naively (later keys in the same table override is invalid TOML) -> use a python merge
        import tomllib
        cfg = tomllib.loads(base_txt)
        for chunk in toml.split("|"):
            over = tomllib.loads(chunk.replace(";", "\n"))
            for sec, kv in over.items():
                cfg.setdefault(sec, {}).update(kv)
        def dump(c):
            out = []
            for sec, kv in c.items():
                out.append(f"[{sec}]")
                for k, v in kv.items():
                    out.append(f"{k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}")
            return "\n".join(out) + "\n"
        f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False); f.write(dump(cfg)); f.close()
        out = os.path.join(tempfile.gettempdir(), f"variant_{name}_{seed}.safetensors")
        args = [B, "train", "--data", data, "--config", f.name, "--epochs", epochs, "--seed", seed, "--out", out, "--json"]
        if extra: args += ["--backbone", extra]
        t = subprocess.run(args, capture_output=True, text=True)
        if t.returncode != 0:
            print(name, "TRAIN FAILED", t.stderr[-800:]); break
        tj = json.loads(t.stdout.strip().splitlines()[-1])
        e = subprocess.run([B, "eval", "--model", out, "--data", data, "--json"], capture_output=True, text=True)
        ej = json.loads(e.stdout)
        iv = ej.get("interventional") or {}
        rows.append((tj, ej, iv))
    if not rows: continue
    import statistics as st
    def m(f):
        v = [f(r) for r in rows]
        return f"{st.mean(v):.4f}" + (f"±{st.stdev(v):.4f}" if len(v) > 1 else "")
    print(f"{name:14s} obsHR do {m(lambda r:r[1]['do']['HR@10'])} raw {m(lambda r:r[1]['raw']['HR@10'])} | obsN do {m(lambda r:r[1]['do']['NDCG@10'])} raw {m(lambda r:r[1]['raw']['NDCG@10'])}"
          + (f" | intN do {m(lambda r:r[2]['do']['NDCG@10'])} raw {m(lambda r:r[2]['raw']['NDCG@10'])}" if rows[0][2] else "")
          + f" | best {[r[0].get('best_epoch') for r in rows]} s/ep {m(lambda r:r[0].get('mean_epoch_secs',0))}", flush=True)
