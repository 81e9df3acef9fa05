# Sourced by bench/compare.sh and bench/compare-models.sh (from the repository root): makes sure Debian's PyTorch is
# there for the peer scripts and builds the CnnSharp benchmark program.

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "PyTorch not found: installing Debian's python3-torch" >&2
  apt-get update -qq && apt-get install -y -qq python3-torch >&2
fi
dotnet build -c Release bench/CnnSharp.Benchmarks -v quiet -nologo >&2
