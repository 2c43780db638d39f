#!/usr/bin/env bash
# Generates the datasets of grids/exposure.toml and grids/routing.toml under scratch/
# (gitignored). Each takes a few seconds; the same seed gives byte-identical files, so the
# grids' rows stay comparable across machines.
#   scripts/make_exposure_data.sh            # then: mclmr grid grids/exposure.toml
# MCLMR=path/to/mclmr overrides the binary (default target/release/mclmr).
set -euo pipefail
cd "$(dirname "$0")/.."
MCLMR=${MCLMR:-target/release/mclmr}
SEED=${SEED:-7}
gen() { # name, flags…
    local name=$1
    shift
    echo "== $name"
    "$MCLMR" synth --out "scratch/$name" --seed "$SEED" "$@"
}
# Confounder strength γ at the other knobs' defaults (history boost 1.5, density 1).
gen exposure/c0 --generator exposure --confounding 0
gen exposure/c0.5 --generator exposure --confounding 0.5
gen exposure/c1 --generator exposure --confounding 1
gen exposure/c2 --generator exposure --confounding 2
# At γ = 1: purchases blind to the history, purchases mostly from the history, half the density.
gen exposure/c1-nohistory --generator exposure --confounding 1 --history-boost 0
gen exposure/c1-history3 --generator exposure --confounding 1 --history-boost 3
gen exposure/c1-sparse --generator exposure --confounding 1 --density 0.5
# The routing scenario, at the default and at half the density.
gen routing --generator routing
gen routing-sparse --generator routing --density 0.5
