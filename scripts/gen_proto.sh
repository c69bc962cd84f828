#!/usr/bin/env bash
# Regenerates the Python code for every contract under proto/ into libs/contracts/src.
set -euo pipefail
cd "$(dirname "$0")/.."
out=libs/contracts/src
find "$out/ndx" -name '*_pb2*.py*' -delete 2>/dev/null || true
mapfile -t protos < <(cd proto && find ndx -name '*.proto' | LC_ALL=C sort)
UV=$(command -v uv || echo "python3 -m uv")
log=$(mktemp)
if ! $UV run --frozen python -m grpc_tools.protoc -I proto \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  "${protos[@]}" >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
# Regular packages (not namespace ones), marked as typed for type checkers.
find "$out/ndx" -type d -exec touch {}/__init__.py \;
touch "$out/ndx/py.typed"
