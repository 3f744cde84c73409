#!/usr/bin/env bash
# End-to-end import benchmark: for each size, generate the four sample
# departments (UTF-8 CSV, GBK CSV, XLSX, Parquet), import them into a fresh
# embedded PostgreSQL, then measure PostgreSQL's own floor for the same rows
# in the same store (fusion bench-floor: a server-side COPY of every row the
# run wrote into copies of the same tables, one transaction, commit
# included). Prints seconds per stage, the floor, the load and the whole
# run as ratios to the floor, WAL written by the import and by the floor,
# and peak memory. Quote the ratios: absolute seconds depend on the machine
# and on whatever else runs on it.
# usage: scripts/bench-import.sh FUSION_BINARY OUT_DIR SIZE...
#   e.g. scripts/bench-import.sh bin/fusion bench-out 1000000
#   province-sized, by hand only (not in CI; spills its rows past the default
#   memory budget, 1/12 of the machine; about 60 GB of disk at 20M rows with
#   the floor, which copies the store's tables):
#        make bench-import BENCH_IMPORT_SIZES=20000000
set -euo pipefail
fusion=${1:?fusion binary}
out=${2:-bench-out}
shift 2
sizes=("${@:-1000000}")
mkdir -p "$out"
printf '%-9s %9s %7s %7s %7s %7s %7s %10s %11s %7s %7s %8s %9s %8s\n' rows persons read_s merge_s load_s total_s floor_s load/floor total/floor wal_MB fl_wal peak_MB spilled us/row
for n in "${sizes[@]}"; do
  dir="$out/import-$n"
  if [ ! -f "$dir/sample/truth.json" ]; then
    "$fusion" gen --out "$dir/sample" --rows "$n" >/dev/null
  fi
  rm -rf "$dir/data" "$dir/out"
  "$fusion" import --json --data-dir "$dir/data" --out "$dir/out" --mapping-dir "$dir/sample/mappings" "$dir"/sample/exports/* >"$dir/import.json" 2>"$dir/import.log"
  "$fusion" bench-floor --json --data-dir "$dir/data" >"$dir/floor.json" 2>"$dir/floor.log"
  python3 - "$dir/import.json" "$dir/floor.json" <<'PY'
import json,sys
d=json.load(open(sys.argv[1])); f=json.load(open(sys.argv[2]))
l=d["ledger"]; n=sum(x["rows_read"] for x in l["files"])
r,m,ld,t,fl=d["read_seconds"],d["merge_seconds"],d["load_seconds"],d["elapsed_seconds"],f["seconds"]
print("%-9d %9d %7.2f %7.2f %7.2f %7.2f %7.2f %10.2f %11.2f %7.0f %7.0f %8.0f %9d %8.2f" % (
    n, l["persons"], r, m, ld, t, fl, ld/fl, t/fl, d.get("wal_bytes",0)/1e6, f["wal_bytes"]/1e6, d["peak_rss_mb"],
    d.get("spilled_rows",0), t/n*1e6))
for x in f["tables"]:
    print("  floor %-16s %10d rows %8.1f MB %7.2f s" % (x["name"], x["rows"], x["file_bytes"]/1e6, x["seconds"]))
print("  floor %-16s %30s %7.2f s" % ("commit", "", f["commit_seconds"]))
PY
done
