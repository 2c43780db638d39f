#!/usr/bin/env bash
# CUDA check of a `--features cuda` build, on a machine with an NVIDIA GPU.
#
#   scripts/cuda_check.sh MCLMR_BINARY TAOBAO_DIR OUT_DIR [GRID_ONLY...]
#
# 1. The binary finds the CUDA libraries and the GPU.
# 2. Sample data: each of SAMPLE_RUNS trained 10 epochs on the CPU and on cuda:0 from the same
#    seed, each checkpoint evaluated on each of EVAL_DEVICES. Rows in OUT_DIR/sample.jsonl and a
#    table: a CUDA-trained model must score like the CPU-trained one, and one checkpoint the same
#    on either device.
# 3. Taobao (TAOBAO_DIR): each of TAOBAO_RUNS trained TAOBAO_EPOCHS epochs on cuda:0 and
#    evaluated on EVAL_DEVICES, timed (OUT_DIR/taobao.jsonl).
# 4. Each GRID_ONLY id of grids/taobao.toml trained and evaluated on cuda:0 by
#    `mclmr grid --device cuda:0` (OUT_DIR/taobao-grid.jsonl), started only while 150 s of
#    BUDGET_S (seconds from the script's start) are left, and stopped at BUDGET_S.
#
# Runs are separated by ';' (a run is `--backbone`'s value, optionally followed by `--plain`).
# The CUDA libraries are looked up under /usr, /usr/local and /opt and put on LD_LIBRARY_PATH.
set -uo pipefail
bin=$1 taobao=$2 out=$3
shift 3
sample_runs=${SAMPLE_RUNS:-mf;lightgcn;cascade;lightgcn --plain}
taobao_runs=${TAOBAO_RUNS:-lightgcn;lightgcn --plain}
taobao_epochs=${TAOBAO_EPOCHS:-2}
eval_devices=${EVAL_DEVICES:-cpu cuda:0}
budget=${BUDGET_S:-300}
work=$(mktemp -d)
mkdir -p "$out"

libdirs=$(find /usr /usr/local /opt -xdev \( -name 'libcuda.so.1' -o -name 'libcudart.so.13' \
    -o -name 'libcublas.so.13' -o -name 'libcublasLt.so.13' -o -name 'libnvrtc.so.13' \
    -o -name 'libcurand.so.10' \) 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "== libraries: $LD_LIBRARY_PATH"
nvidia-smi -L
ldd "$bin" | grep -E 'cuda|cublas|nvrtc|curand|not found'

secs() { python3 -c "print(round($2 - $1, 3))"; }

# train_eval DATA CONFIG EPOCHS RUN TRAIN_DEVICE ROWS: one JSON row per evaluation device.
train_eval() {
    local data=$1 config=$2 epochs=$3 run=$4 dev=$5 rows=$6
    local model="$work/$(echo "$run-$dev" | tr -c 'a-z0-9\n' '_').safetensors"
    local t e t0 t1
    # shellcheck disable=SC2086 # `run` is the backbone and an optional --plain
    t=$("$bin" train --data "$data" --config "$config" --epochs "$epochs" --backbone $run \
        --device "$dev" --out "$model" --json -q) || { echo "train $run on $dev failed"; return; }
    for edev in $eval_devices; do
        t0=$(date +%s.%N)
        e=$("$bin" eval --model "$model" --data "$data" --device "$edev" --json) \
            || { echo "eval $run on $edev failed"; continue; }
        t1=$(date +%s.%N)
        echo "{\"run\":\"$run\",\"train_device\":\"$dev\",\"eval_device\":\"$edev\",\"eval_secs\":$(secs "$t0" "$t1"),\"train\":$t,\"eval\":$e}" >>"$rows"
    done
    rm -f "$model"
}

table() {
    python3 - "$1" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'run':18} {'train':7} {'eval':7} {'s/epoch':>8} {'eval s':>7} {'valid':>7} {'do HR@10':>9} {'do N@10':>8} {'raw N@10':>8} {'iv do N@10':>10}")
for r in rows:
    e, t = r["eval"], r["train"]
    iv = e.get("interventional", {}).get("do", {}).get("NDCG@10", float("nan"))
    print(f"{r['run']:18} {r['train_device']:7} {r['eval_device']:7} {t['mean_epoch_secs']:8.3f} "
          f"{r['eval_secs']:7.2f} {t['valid_NDCG@10']:7.4f} {e['do']['HR@10']:9.4f} "
          f"{e['do']['NDCG@10']:8.4f} {e['raw']['NDCG@10']:8.4f} {iv:10.4f}")
EOF
}

echo "== sample data: CPU vs cuda:0 (at ${SECONDS}s)"
: >"$out/sample.jsonl"
IFS=';' read -ra runs <<<"$sample_runs"
for run in "${runs[@]}"; do
    for dev in cpu cuda:0; do
        train_eval sample_data configs/sample.toml 10 "$run" "$dev" "$out/sample.jsonl"
    done
done
table "$out/sample.jsonl"

echo "== Taobao on cuda:0, $taobao_epochs epochs (at ${SECONDS}s)"
: >"$out/taobao.jsonl"
IFS=';' read -ra runs <<<"$taobao_runs"
for run in "${runs[@]}"; do
    train_eval "$taobao" configs/taobao.toml "$taobao_epochs" "$run" cuda:0 "$out/taobao.jsonl"
done
table "$out/taobao.jsonl"

for id in "$@"; do
    if ((SECONDS + 150 > budget)); then
        echo "== grid $id skipped: ${SECONDS}s of ${budget}s used"
        continue
    fi
    echo "== grid $id on cuda:0 (at ${SECONDS}s)"
    sed "s#^data = .*#data = \"$taobao\"#" grids/taobao.toml >"$work/grid.toml"
    timeout $((budget - SECONDS)) "$bin" grid "$work/grid.toml" --device cuda:0 --only "$id" \
        --out "$work/grid.jsonl"
    cp "$work/grid.jsonl" "$out/taobao-grid.jsonl"
done
echo "== done at ${SECONDS}s"
