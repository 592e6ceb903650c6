#!/bin/sh
# Regenerate obmcp's gRPC code from proto/provider/v1/provider.proto (docs/GRPC.md).
#
# The generated modules are committed (src/obmcp/_proto/provider/v1/provider_pb2*.py) so
# an install needs no protoc; tests/obmcp/test_grpc_proto.py fails when the committed
# descriptor no longer equals the .proto's. The .proto is mapped to the virtual path
# obmcp/_proto/… so the generated imports are package-relative to obmcp.
#   PYTHON=/path/to/python scripts/gen_proto.sh        # writes into src/
#   OUT=/tmp/gen scripts/gen_proto.sh                     # elsewhere (the test compares)
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
OUT="${OUT:-src}"
"$PYTHON" -m grpc_tools.protoc \
  -Iobmcp/_proto=proto \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" \
  obmcp/_proto/provider/v1/provider.proto
for dir in "$OUT/obmcp/_proto" "$OUT/obmcp/_proto/provider" "$OUT/obmcp/_proto/provider/v1"; do
  [ -f "$dir/__init__.py" ] || printf '"""Generated gRPC code (scripts/gen_proto.sh); do not edit."""\n' > "$dir/__init__.py"
done
"$PYTHON" -c 'import grpc_tools, importlib.metadata as m; print("generated with grpcio-tools", m.version("grpcio-tools"))'
