#!/usr/bin/env bash
# ONNX inference side by side: CnnSharp's OnnxSession vs ONNX Runtime 1.31.1 (bench-only NuGet dependency) on the
# conformance suite's ResNet-18 and the seed's ConvNet, and torchvision's MobileNet-v2 and ShuffleNet-v2 x1.0 (seeded
# random weights, committed in bench/fixtures/; re-exported by bench/peers/export_onnx_fixtures.py when missing and
# Debian's python3-torch/python3-torchvision/python3-onnx are installed, else those rows are skipped with a message),
# batch 1 and batch 32, in one process.
#
#   bench/compare-onnx.sh [--threads T] [--rounds N] [--warmup W] [--single-thread] [--profile] [--conformance DIR]
#
# Both runtimes load the same file (a copy whose declared batch dimension is made symbolic), get the same random
# input and the same thread count (ORT: IntraOpNumThreads=T, sequential execution, all graph optimizations). After a
# warm-up, every round times CnnSharp and ORT back to back (who goes first alternates), each side repeated until it
# has run >= 100 ms. The table reports medians, best rounds, CPU time per run and the CnnSharp/ORT ratios, and checks
# that the outputs agree (|diff| <= 1e-4 + 1e-3*|ORT|). --single-thread adds a second table with one thread each,
# timed in CPU time of the calling thread too, which a loaded machine does not inflate. --profile adds both
# runtimes' time per operator. The exit status is 1 when outputs disagree.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2 rounds=15 warmup=3 single=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --single-thread) single=1; shift ;;
    --profile) extra+=(--profile); shift ;;
    --conformance) extra+=(--conformance "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

dotnet build -c Release bench/CnnSharp.OrtPeer -v quiet -nologo >&2
models=resnet18,seed_convnet
for m in mobilenet_v2 shufflenet_v2_x1_0; do
  if [ ! -f "bench/fixtures/$m/model.onnx" ]; then
    if /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
      /usr/bin/python3 bench/peers/export_onnx_fixtures.py --out bench/fixtures --models "$m" >&2
    else
      echo "skipping $m: bench/fixtures/$m/model.onnx is missing and python3-torch/python3-torchvision/python3-onnx are not installed (apt-get install -y python3-torch python3-torchvision python3-onnx)" >&2
      continue
    fi
  fi
  models="$models,$m"
done

peer=(dotnet bench/CnnSharp.OrtPeer/bin/Release/net10.0/CnnSharp.OrtPeer.dll --models "$models" --fixtures bench/fixtures --batches 1,32
  --rounds "$rounds" --warmup "$warmup" "${extra[@]}")
"${peer[@]}" --threads "$threads"
if [ "$single" = 1 ] && [ "$threads" != 1 ]; then
  echo
  "${peer[@]}" --threads 1
fi
