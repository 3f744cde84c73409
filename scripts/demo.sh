#!/usr/bin/env bash
# The served part of `make demo`: registers the sample business system
# (demo-rp, a confidential client of the OpenID provider) once, runs it in
# the background, and the login service in the foreground; Ctrl-C stops
# both.
#
# `authsvc client add` prints a client's secret once and stores only its
# hash, so the secret is kept in DATA_DIR/demorp.secret: with that file the
# client is registered already. (A DATABASE_URL shared by several data
# folders may hold the client without the file: the demo then runs without
# the business system, and says how to fix it.)
#
# The development stand-in of the national enterprise interface answers from
# the sample's enterprise_registry.json (SAMPLE_DIR), after a minute's
# simulated data delay; the real-name re-check runs every minute.
#
# The development stand-in of the national platform (国家政务服务平台, an
# OpenID provider of its own: cmd/upstreamdev) runs at UPSTREAM_ADDR with the
# sample's upstream_citizens.json, and the login page offers its button;
# its client secret is made once into DATA_DIR/upstream.secret.
#
# The demo staff members (scripts/demo-staff.sh, run by make demo) are
# listed with where their sign-in details are.
# usage: scripts/demo.sh BIN_DIR DATA_DIR AUTHSVC_ADDR DEMORP_ADDR [SAMPLE_DIR [UPSTREAM_ADDR]]
set -euo pipefail
bin=${1:?bin dir}
data=${2:?data dir}
addr=${3:-127.0.0.1:8080}
rp_addr=${4:-127.0.0.1:8090}
sample=${5:-}
upstream_addr=${6:-127.0.0.1:8070}
secret_file=$data/demorp.secret
redirect=http://$rp_addr/callback

if [ ! -s "$secret_file" ]; then
  if out=$("$bin/authsvc" client add --data-dir "$data" --id demo-rp --name 示例业务系统 \
      --redirect-uri "$redirect" --scope profile); then
    mkdir -p "$data"
    (umask 077 && printf '%s\n' "$out" | sed -n 's/^client_secret: //p' >"$secret_file")
    echo "registered the sample business system demo-rp (secret in $secret_file)"
  else
    echo "demo: could not register demo-rp (registered already without $secret_file?);" >&2
    echo "demo: remove it (DELETE FROM oidc_client WHERE id = 'demo-rp') and rerun; running without the business system" >&2
  fi
fi

staff_file=$data/staff.txt # written by scripts/demo-staff.sh (make demo)

rp_pid=
if [ -s "$secret_file" ]; then
  DEMORP_CLIENT_SECRET=$(cat "$secret_file") "$bin/demorp" --addr "$rp_addr" \
    --issuer "http://$addr/oidc" --client-id demo-rp --redirect-url "$redirect" &
  rp_pid=$!
  echo "Sample business system (OpenID Connect relying party): http://$rp_addr"
fi
upstream_pid=
upstream=()
if [ -n "$sample" ] && [ -s "$sample/upstream_citizens.json" ]; then
  mkdir -p "$data"
  if [ ! -s "$data/upstream.secret" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$data/upstream.secret")
  fi
  cat >"$data/upstream.yaml" <<YAML
# Written by scripts/demo.sh: the stand-in national platform of the demo.
providers:
  - id: gov
    name: 国家政务服务平台
    issuer: http://$upstream_addr
    client_id: idfusion
    client_secret_file: upstream.secret
    level: LV3
    face_verified: true
YAML
  "$bin/upstreamdev" --addr "$upstream_addr" --title 国家政务服务平台 --citizens "$sample/upstream_citizens.json" \
    --client-secret-file "$data/upstream.secret" --redirect-uri "http://$addr/login/upstream/gov/callback" &
  upstream_pid=$!
  upstream=(--upstream-config "$data/upstream.yaml")
  echo "Stand-in national platform (国家政务服务平台, OpenID provider): http://$upstream_addr — its citizens in $sample/upstream_citizens.json"
fi
stop_rp() {
  for pid in $rp_pid $upstream_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_rp EXIT
# Ctrl-C (or a TERM) is how the demo ends: a clean stop, exit 0, so make
# reports no error.
trap 'echo; echo "demo stopped"; exit 0' INT TERM

registry=()
if [ -n "$sample" ] && [ -s "$sample/enterprise_registry.json" ]; then
  registry=(--enterprise-fixture "$sample/enterprise_registry.json" --enterprise-delay 1m --realname-schedule '* * * * *')
fi

if [ -s "$staff_file" ]; then
  echo "Staff console (工作人员登录): http://$addr/admin/login — a demo staff member of each role (客服, 审核, 运维, 审计):"
  echo "  usernames demo.kefu, demo.shenhe, demo.yunwei, demo.shenji; their initial passwords and TOTP secrets"
  echo "  (add one to an authenticator app for its 6-digit 动态验证码) are in $staff_file;"
  echo "  demo.kefu changes its password at its first sign-in (修改密码), as every 客服 someone else made"
fi
"$bin/authsvc" --dev --db-role idfusion_authsvc --addr "$addr" --data-dir "$data" "${registry[@]}" "${upstream[@]}"
