#!/usr/bin/env bash
# Part of `make demo`: a demo staff member of each role (客服 审核 运维 审计)
# for the staff console, made once. `authsvc staff add` prints a staff
# member's initial password and TOTP secret once, so they are kept in
# DATA_DIR/staff.txt (mode 0600; development only); with that file the
# staff members exist already.
# usage: scripts/demo-staff.sh BIN_DIR DATA_DIR
set -euo pipefail
bin=${1:?bin dir}
data=${2:?data dir}
staff_file=$data/staff.txt
if [ ! -s "$staff_file" ]; then
  mkdir -p "$data"
  (umask 077 && : >"$staff_file.tmp")
  for role in kefu:客服 shenhe:审核 yunwei:运维 shenji:审计; do
    if out=$("$bin/authsvc" staff add --data-dir "$data" --username "demo.${role%%:*}" --name "演示${role#*:}" --role "${role%%:*}"); then
      printf '%s（%s）\n%s\n\n' "demo.${role%%:*}" "${role#*:}" "$out" >>"$staff_file.tmp"
    else
      echo "demo: could not create the demo staff member demo.${role%%:*} (created already without $staff_file?)" >&2
    fi
  done
  mv "$staff_file.tmp" "$staff_file"
fi

