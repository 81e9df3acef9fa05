#!/usr/bin/env bash
# Side-by-side benchmark: CnnSharp's fused engine vs the PyTorch peer on the same workload (the seed ConvNet on MNIST,
# batch 100, Adam lr 1e-3; eval at batch 100; batch-1 latency on one thread; peak RSS).
#
#   bench/compare.sh [--rounds N] [--threads T] [--epochs E] [--data DIR]
#
# Each round runs CnnSharp, PyTorch with default settings, and PyTorch with glibc's malloc tuned so that freed buffers
# are not handed back to the OS every step (GLIBC_TUNABLES below); the order rotates between rounds so drift in the
# machine's load hits every configuration alike. Prints every run's JSON, then a table of medians and CnnSharp/PyTorch
# ratios. Installs Debian's python3-torch with apt when PyTorch is missing. The machine may be shared: rerun, or raise
# --rounds, when the spread is large.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 threads=2 epochs=1 data="${CNNSHARP_DATA:-$HOME/.cache/cnnsharp/mnist}"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

. bench/torch-peer.sh
cnnsharp=(dotnet bench/CnnSharp.Benchmarks/bin/Release/net10.0/CnnSharp.Benchmarks.dll e2e --threads "$threads" --epochs "$epochs" --data "$data")
torch=(/usr/bin/python3 bench/peers/pytorch_convnet.py --threads "$threads" --epochs "$epochs" --data "$data")
tuned='glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824'

# Round 0 starts with CnnSharp, whose e2e mode fetches and verifies MNIST (before any timing) when it is absent.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() { # label, command...
  local label=$1; shift
  local json
  json=$("$@" | tail -n 1)
  echo "$label $json" | tee -a "$results" >&2
}
configs=(cnnsharp torch torch_tuned)
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < ${#configs[@]}; i++)); do
    c=${configs[$(((i + r) % ${#configs[@]}))]}
    case $c in
      cnnsharp) run cnnsharp "${cnnsharp[@]}" ;;
      torch) run torch env OPENBLAS_NUM_THREADS=1 "${torch[@]}" ;;
      torch_tuned) run torch_tuned env OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES="$tuned" "${torch[@]}" ;;
    esac
  done
done

/usr/bin/python3 - "$results" "$rounds" "$threads" "$epochs" <<'PY'
import json, statistics, sys
path, rounds, threads, epochs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
runs = {}
for line in open(path):
    label, _, js = line.partition(" ")
    runs.setdefault(label, []).append(json.loads(js))
def med(label, key):
    return statistics.median(r[key] for r in runs[label])
metrics = [("epoch_s", "train epoch (s)", "lower"), ("eval_img_s", "eval img/s, batch 100", "higher"),
           ("b1_ms", "batch-1 latency (ms)", "lower"), ("peak_rss_mib", "peak RSS (MiB)", "lower"), ("test_acc", "test accuracy", "higher")]
print(f"\n{rounds} rounds, {threads} threads, {epochs} epoch(s) per round; medians")
print(f"{'metric':<24}{'CnnSharp':>12}{'PyTorch':>12}{'PyT tuned':>12}{'ratio':>9}{'ratio tuned':>13}")
for key, name, better in metrics:
    c, t, tt = med("cnnsharp", key), med("torch", key), med("torch_tuned", key)
    fmt = (lambda v: f"{v:.4f}") if key == "test_acc" else (lambda v: f"{v:.3f}" if v < 100 else f"{v:.0f}")
    print(f"{name:<24}{fmt(c):>12}{fmt(t):>12}{fmt(tt):>12}{c / t:>9.3f}{c / tt:>13.3f}")
print(f"{'managed bytes/step':<24}{med('cnnsharp', 'managed_bytes_per_step'):>12.1f}")
print("ratio = CnnSharp / PyTorch (time and memory: lower is better; throughput: higher is better)")
PY
