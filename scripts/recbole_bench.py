#!/usr/bin/env python3
"""Throwaway RecBole 1.2.1 baseline: BPR-MF and LightGCN on Taobao buy-only data (CPU).

Measures seconds per training epoch, peak RSS (each model in its own subprocess) and the
time of one full-ranking evaluation over all test users (Hit@10 / NDCG@10).
Run through scripts/recbole_bench.sh, which builds the venv. Usage:
    python recbole_bench.py [--epochs 3] [--models BPR,LightGCN] [--threads 2]

Data split (written idempotently to $WORK/data/taobao_buy/):
  train = taobao buy.txt (all 92,180 buys), test = taobao test.txt (one held-out buy per user),
  valid = a copy of test (taobao's valid.txt is a subset of buy.txt, so not held out; valid is
  never evaluated here, RecBole just needs the file). Test pairs whose user or item never occurs
  in buy.txt (cold) are dropped. Evaluation masks each user's training items (RecBole default).
"""
import argparse
import json
import os
import subprocess
import sys
import time

# The shared data sits beside the repository: <repo>/../shared/data/taobao.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAOBAO = os.path.join(os.path.dirname(REPO), "shared", "data", "taobao")
DATASET = "taobao_buy"


def convert(src, work):
    out = os.path.join(work, "data", DATASET)
    done = os.path.join(out, ".done")
    if os.path.exists(done):
        return out
    os.makedirs(out, exist_ok=True)

    def read(name):
        with open(os.path.join(src, name)) as f:
            return [tuple(line.split()) for line in f if line.strip()]

    train = read("buy.txt")
    users = {u for u, _ in train}
    items = {i for _, i in train}
    test_all = read("test.txt")
    test = [(u, i) for u, i in test_all if u in users and i in items]
    header = "user_id:token\titem_id:token\n"
    for part, rows in (("train", train), ("valid", test), ("test", test)):
        with open(os.path.join(out, f"{DATASET}.{part}.inter"), "w") as f:
            f.write(header)
            f.writelines(f"{u}\t{i}\n" for u, i in rows)
    stats = dict(train=len(train), users=len(users), items=len(items),
                 test=len(test), test_dropped_cold=len(test_all) - len(test))
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(stats, f)
    open(done, "w").close()
    return out


def rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def worker(args):
    os.makedirs(os.path.join(args.work, "run"), exist_ok=True)
    os.chdir(os.path.join(args.work, "run"))  # RecBole writes log/ and log_tensorboard/ to cwd
    sys.argv = sys.argv[:1]  # RecBole's Config parses sys.argv
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    torch.set_num_threads(args.threads)
    rss_import = rss_mib()
    with open(os.path.join(args.work, "data", DATASET, "stats.json")) as f:
        n_items = json.load(f)["items"] + 1  # + RecBole's [PAD] item 0
    cfg = {
        "data_path": os.path.join(args.work, "data"),
        "benchmark_filename": ["train", "valid", "test"],
        "load_col": {"inter": ["user_id", "item_id"]},
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "embedding_size": 64,
        "n_layers": 2,
        "train_batch_size": 1024,
        "learning_rate": 1e-3,
        "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1, "alpha": 1.0,
                                  "dynamic": False, "candidate_num": 0},
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user",
                      "order": "RO", "mode": "full"},
        "metrics": ["Hit", "NDCG"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        # full-sort batches are counted in user*item scores: this gives N users per batch
        "eval_batch_size": args.eval_users_per_batch * n_items,
        "use_gpu": False,
        "device": "cpu",
        "show_progress": False,
        "state": "WARNING",
        "seed": 2020,
        "reproducibility": True,
        "checkpoint_dir": os.path.join(args.work, "saved"),
        "worker": 0,
    }
    t0 = time.perf_counter()
    config = Config(model=args.worker, dataset=DATASET, config_dict=cfg)
    init_seed(config["seed"], config["reproducibility"])
    torch.set_num_threads(args.threads)
    dataset = create_dataset(config)
    train_data, _valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    setup_s = time.perf_counter() - t0

    epochs, cpu, losses = [], [], []
    for ep in range(args.epochs):
        t, c = time.perf_counter(), time.process_time()
        loss = trainer._train_epoch(train_data, ep, show_progress=False)
        epochs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        losses.append(float(sum(loss)) if isinstance(loss, tuple) else float(loss))
    rss_train = rss_mib()

    t, c = time.perf_counter(), time.process_time()
    res = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    eval_s, eval_cpu_s = time.perf_counter() - t, time.process_time() - c
    print("RESULT " + json.dumps(dict(
        model=args.worker, threads=torch.get_num_threads(), torch=torch.__version__,
        setup_s=setup_s, epochs=epochs, epoch_cpu_s=cpu, losses=losses, eval_s=eval_s,
        eval_cpu_s=eval_cpu_s,
        rss_import_mib=rss_import, rss_train_mib=rss_train, rss_peak_mib=rss_mib(),
        n_users=train_data._dataset.user_num - 1, n_items=train_data._dataset.item_num - 1,
        n_train=len(train_data._dataset), n_test_users=len(test_data.uid_list),
        metrics={k: float(v) for k, v in res.items()})), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--models", default="BPR,LightGCN")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-users-per-batch", type=int, default=1024)
    p.add_argument("--src", default=TAOBAO)
    p.add_argument("--work", default="/tmp/recbole")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    out = convert(args.src, args.work)
    print("data:", out, open(os.path.join(out, "stats.json")).read(), flush=True)
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    rows = []
    for m in args.models.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", m,
               "--epochs", str(args.epochs), "--threads", str(args.threads),
               "--eval-users-per-batch", str(args.eval_users_per_batch), "--work", args.work]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
        res = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        if proc.returncode or not res:
            print(proc.stdout)
            sys.exit(f"{m}: worker failed (rc={proc.returncode})")
        r = json.loads(res[-1][7:])
        print(json.dumps(r), flush=True)
        rows.append(r)

    print(f"\nRecBole on Taobao buy, torch threads={args.threads}, {args.epochs} epochs, "
          f"torch {rows[0]['torch']}")
    hdr = ("model", "setup s", "s/epoch (each)", "mean s/ep (>1st)", "CPU s/ep (>1st)",
           "peak RSS MiB", "RSS after imports MiB", "eval s", "eval CPU s", "hit@10", "ndcg@10")
    print("| " + " | ".join(hdr) + " |\n|" + "---|" * len(hdr))
    for r in rows:
        ep = r["epochs"]
        later = ep[1:] or ep
        cl = r["epoch_cpu_s"][1:] or r["epoch_cpu_s"]
        print("| " + " | ".join([
            r["model"], f"{r['setup_s']:.1f}", ", ".join(f"{x:.2f}" for x in ep),
            f"{sum(later) / len(later):.2f}", f"{sum(cl) / len(cl):.2f}",
            f"{r['rss_peak_mib']:.0f}", f"{r['rss_import_mib']:.0f}",
            f"{r['eval_s']:.2f}", f"{r['eval_cpu_s']:.2f}",
            f"{r['metrics'].get('hit@10', float('nan')):.4f}",
            f"{r['metrics'].get('ndcg@10', float('nan')):.4f}"]) + " |")


if __name__ == "__main__":
    main()
