#!/usr/bin/env bash
# Ingest+cleanse throughput and peak memory per format: generates ROWS rows
# for each format (CSV UTF-8, CSV GBK, XLSX, Parquet) and runs fusion check
# on each file alone, then on all files of a run at once.
# usage: scripts/bench.sh FUSION_BINARY ROWS OUT_DIR
set -euo pipefail
fusion=${1:?fusion binary}
rows=${2:-1000000}
out=${3:-bench-out}
mkdir -p "$out"
for dept in gongan renshe weijian minzheng; do
  dir="$out/$dept-$rows"
  if [ ! -f "$dir/truth.json" ]; then
    echo "generating $rows rows for $dept ..." >&2
    "$fusion" gen --out "$dir" --rows "$rows" --depts "$dept" >/dev/null
  fi
done
printf '%-10s %-8s %10s %8s %12s %9s %10s\n' format dept rows read_s read_rows/s report_s peak_MB
for dept in gongan renshe weijian minzheng; do
  dir="$out/$dept-$rows"
  json=$("$fusion" check --json --mapping-dir "$dir/mappings" --out "$dir/check" "$dir"/exports/* || [ $? -eq 1 ])
  echo "$json" | python3 -c '
import json,sys
d=json.load(sys.stdin); f=d["files"][0]
fmt=f["format"]+("-"+f["encoding"] if f.get("encoding") else "")
print("%-10s %-8s %10d %8.2f %12.0f %9.2f %10.0f" % (fmt, f["dept"], f["rows_read"], d["read_seconds"], f["rows_read"]/d["read_seconds"], d["report_seconds"], d["peak_rss_mb"]))'
done
# All four files of one run, read in parallel.
mkdir -p "$out/all/mappings"
cp "$out"/*-"$rows"/mappings/*.yaml "$out/all/mappings/"
json=$("$fusion" check --json --mapping-dir "$out/all/mappings" --out "$out/all/check" "$out"/*-"$rows"/exports/* || [ $? -eq 1 ])
echo "$json" | python3 -c '
import json,sys
d=json.load(sys.stdin); n=sum(f["rows_read"] for f in d["files"])
print("%-10s %-8s %10d %8.2f %12.0f %9.2f %10.0f" % ("all", "4 files", n, d["read_seconds"], n/d["read_seconds"], d["report_seconds"], d["peak_rss_mb"]))'
