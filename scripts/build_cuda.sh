#!/usr/bin/env bash
# Builds `mclmr` with `--features cuda` on a machine without a CUDA toolkit (no GPU needed), the
# way the binary checked on an H100 was built (docs/PERFORMANCE.md, "CUDA"):
#
#   scripts/build_cuda.sh [TARGET_DIR]      # default target-cuda; the binary is TARGET_DIR/release/mclmr
#
# It fetches NVIDIA's CUDA 13.0 compiler, headers and libraries as Python wheels (pip, network
# needed) into TARGET_DIR/cuda, and links against them; libcuda (the driver, which only a GPU
# machine has) is replaced at link time by a stub that defines the driver functions cudarc
# declares, with the driver's soname, so the real one is loaded where the binary runs. There
# `LD_LIBRARY_PATH` must reach libcuda.so.1, libcudart.so.13, libcublas(Lt).so.13 and
# libcurand.so.10 (scripts/cuda_check.sh finds them). Kernels are built for CUDA_COMPUTE_CAP
# (default 90: H100/H200). Where a CUDA 13 toolkit is installed, plain
# `cargo build --release --features cuda` does the same.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-target-cuda}
cuda="$target/cuda"
root="$cuda/nvidia/cu13"
if [ ! -x "$root/bin/nvcc" ]; then
    mkdir -p "$cuda/wheels"
    python3 -m pip download --no-deps -q -d "$cuda/wheels" \
        "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-nvrtc==13.0.*" \
        "nvidia-cuda-crt==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cuda-cccl==13.0.*" \
        "nvidia-cublas==13.0.*" "nvidia-curand==10.4.*"
    for w in "$cuda"/wheels/*.whl; do python3 -m zipfile -e "$w" "$cuda"; done
    chmod +x "$root"/bin/* "$root"/nvvm/bin/*
fi
lib="$root/lib"
for l in cublas.so.13 cublasLt.so.13 nvrtc.so.13 curand.so.10 cudart.so.13; do
    ln -sf "lib$l" "$lib/lib${l%.so.*}.so"
done
# The driver stub: every `cu*` function of cudarc's driver bindings.
cargo fetch -q
sys=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.*/src/driver/sys | tail -1)
grep -oE 'pub unsafe fn cu[A-Za-z0-9_]+' "$sys/mod.rs" | awk '{print "void " $4 "(void) {}"}' |
    sort -u >"$cuda/libcuda_stub.c"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$lib/libcuda.so" "$cuda/libcuda_stub.c"

CUDA_ROOT="$(realpath "$root")" PATH="$(realpath "$root")/bin:$PATH" \
    CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90} \
    cargo build --release --features cuda --target-dir "$target" --bin mclmr
echo "built $target/release/mclmr"
