#!/usr/bin/env bash
# Times every int8 candidate in tract (one process each, so peak RSS is per
# model) and prints one JSON line per run. Needs `python models/build.py`
# to have written models/.work/. Usage: bash models/measure_forms.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tok=models/minilm-l6-int8/tokenizer.json
cargo build -q --example int8_forms  # dev profile: dependencies are built with opt-level 3
bin=${CARGO_TARGET_DIR:-target}/debug/examples/int8_forms
for f in fp32 w8_dq w8_dq_e8 dyn_int8 dyn_int8_e8 qdq_static; do
  "$bin" "models/.work/$f.onnx" "$tok" models/.work/fp32.onnx
done
# The dynamic forms again on tract's AVX (not AVX2) integer kernel.
for f in dyn_int8 dyn_int8_e8; do
  TRACT_CPU_ISA=-avx2 "$bin" "models/.work/$f.onnx" "$tok" models/.work/fp32.onnx | sed 's/}$/,"isa":"-avx2"}/'
done
