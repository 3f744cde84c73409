#!/usr/bin/env bash
# End-to-end import benchmark: for each size, generate the four sample
# departments (UTF-8 CSV, GBK CSV, XLSX, Parquet) and import them into a
# fresh embedded PostgreSQL; print wall time, seconds and rows/s per stage
# and peak memory.
# usage: scripts/bench-import.sh FUSION_BINARY OUT_DIR SIZE...
set -euo pipefail
fusion=${1:?fusion binary}
out=${2:-bench-out}
shift 2
sizes=("${@:-1000000}")
mkdir -p "$out"
printf '%-9s %9s %7s %7s %7s %7s %9s %9s %9s %9s %8s\n' rows persons read_s merge_s load_s total_s read_r/s merge_r/s load_r/s total_r/s peak_MB
for n in "${sizes[@]}"; do
  dir="$out/import-$n"
  if [ ! -f "$dir/sample/truth.json" ]; then
    "$fusion" gen --out "$dir/sample" --rows "$n" >/dev/null
  fi
  rm -rf "$dir/data" "$dir/out"
  json=$("$fusion" import --json --data-dir "$dir/data" --out "$dir/out" --mapping-dir "$dir/sample/mappings" "$dir"/sample/exports/* 2>/dev/null)
  echo "$json" | python3 -c '
import json,sys
d=json.load(sys.stdin); l=d["ledger"]; n=sum(f["rows_read"] for f in l["files"])
r,m,ld,t=d["read_seconds"],d["merge_seconds"],d["load_seconds"],d["elapsed_seconds"]
print("%-9d %9d %7.2f %7.2f %7.2f %7.2f %9.0f %9.0f %9.0f %9.0f %8.0f" % (n, l["persons"], r, m, ld, t, n/r, n/m, n/ld, n/t, d["peak_rss_mb"]))'
done
