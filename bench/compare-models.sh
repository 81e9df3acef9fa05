#!/usr/bin/env bash
# Side-by-side benchmark of CnnSharp's general execution path against PyTorch on four CNNs (issue 8): the seed ConvNet
# (batch 100, 1x28x28), LeNet-5 (batch 100),
# VggSmall and ResNet8 (batch 64, 3x32x32). Synthetic data; per model and side: median training-step time (forward,
# cross-entropy, backward, Adam), median eval forward at batch, managed bytes per steady-state step (CnnSharp) and peak
# RSS, each model in its own process.
#
#   bench/compare-models.sh [--rounds N] [--threads T] [--steps S] [--warmup W] [--compiled] [--models "a b ..."]
#
# --compiled runs CnnSharp's models through model.Compile(...) (what Trainer and the CLI run); without it, the eager path.
# Each round runs every model on both sides, one process per run; the side that goes first alternates between rounds
# (and between models) so drift in the machine's load hits both alike. Prints every run's JSON, then a table of medians
# over the rounds and CnnSharp/PyTorch ratios (lower is better). Installs Debian's python3-torch with apt when PyTorch
# is missing. On a shared machine, raise --rounds and --steps.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 threads=2 steps=20 warmup=3 compiled=() models="convnet lenet5 vgg_small resnet8"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --compiled) compiled=(--compiled); shift ;;
    --models) models=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

. bench/torch-peer.sh
common=(--threads "$threads" --steps "$steps" --warmup "$warmup")

results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() { # side, model, command...
  local side=$1 model=$2; shift 2
  local json
  json=$("$@" | tail -n 1)
  echo "$side $model $json" | tee -a "$results" >&2
}
for ((r = 0; r < rounds; r++)); do
  m=0
  for model in $models; do
    peer=$model
    cs=(dotnet bench/CnnSharp.Benchmarks/bin/Release/net10.0/CnnSharp.Benchmarks.dll models --model "$model" "${common[@]}")
    cs+=("${compiled[@]}")
    torch=(env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/pytorch_models.py --model "$peer" "${common[@]}")
    if (((r + m) % 2 == 0)); then
      run cnnsharp "$model" "${cs[@]}"; run torch "$model" "${torch[@]}"
    else
      run torch "$model" "${torch[@]}"; run cnnsharp "$model" "${cs[@]}"
    fi
    m=$((m + 1))
  done
done

/usr/bin/python3 bench/peers/summarize_models.py "$results" "$rounds" "$threads" "$steps"
