#!/usr/bin/env bash
# Deployment step 20: the public endpoints answer through CloudFront and the ALB, an upload
# of each kind gets through the WAF and lands, and the worker turns it into renditions.
#   infra/scripts/smoke-test.sh https://openwan.example.com [https://origin.openwan.example.com]
#
# Signs in as OPENWAN_SMOKE_USER (default "admin") with OPENWAN_SMOKE_PASSWORD, or, when that
# is unset, the first admin's password read from Secrets Manager (openwan/admin/password).
# The password is never printed. The two uploaded test images are deleted at the end.
# With the origin's URL as second argument, also checks that the ALB refuses to be reached
# directly (it admits CloudFront's addresses carrying the origin secret only).
set -euo pipefail
base="${1:?usage: smoke-test.sh https://your-domain [https://origin-name]}"
origin="${2:-}"
user="${OPENWAN_SMOKE_USER:-admin}"
wait_seconds="${OPENWAN_SMOKE_WAIT_SECONDS:-900}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL $*" >&2; exit 1; }

check() {
  local path="$1" expected="$2" status
  status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 "$base$path")"
  [ "$status" = "$expected" ] || fail "$path: HTTP $status (expected $expected)"
  echo "ok   $path: HTTP $status"
}

json() {  # json FILE EXPRESSION: a value from a JSON file (python3, no jq needed)
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}

check /health 200
check /alive 200
check /ready 200          # database, storage and queue reachable
check /openapi.json 200
check /api/v1/assets 401  # authentication enforced
# HTTP must redirect to HTTPS (CloudFront's viewer protocol policy).
http_status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 "${base/https:/http:}/health")"
[ "$http_status" = "301" ] && echo "ok   http -> https redirect" || fail "redirect: $http_status"

if [ -n "$origin" ]; then
  # Outside CloudFront's prefix list the connection is dropped; with the right address but
  # without the header the listener answers 403. Either way: never 200.
  direct="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$origin/health" 2>/dev/null || true)"
  case "$direct" in
    200) fail "the ALB answered $origin/health directly: CloudFront and the WAF are bypassed" ;;
    *) echo "ok   origin not reachable directly (${direct:-connection refused or timed out})" ;;
  esac
fi

# --- sign in -----------------------------------------------------------------------------
password="${OPENWAN_SMOKE_PASSWORD:-}"
if [ -z "$password" ]; then
  password="$(aws secretsmanager get-secret-value --secret-id openwan/admin/password \
    --query SecretString --output text | python3 -c 'import json, sys; print(json.load(sys.stdin)["password"])')"
fi
PASSWORD="$password" USERNAME="$user" python3 -c '
import json, os
print(json.dumps({"username": os.environ["USERNAME"], "password": os.environ["PASSWORD"]}))
' > "$work/login.json"
status="$(curl -sS -o "$work/token.json" -w '%{http_code}' --max-time 15 \
  -H 'Content-Type: application/json' --data-binary "@$work/login.json" "$base/api/v1/auth/login")"
rm -f "$work/login.json"
[ "$status" = "200" ] || fail "sign-in as $user: HTTP $status"
token="$(json "$work/token.json" 'd["access_token"]')"
auth=(-H "Authorization: Bearer $token")
echo "ok   signed in as $user"

# --- a test image well over the WAF's 8 KB body inspection limit ----------------------------
python3 - "$work/smoke.png" <<'EOF'
import os, struct, sys, zlib
width = height = 768  # ~1.7 MB of incompressible pixels
rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
EOF
size="$(wc -c < "$work/smoke.png")"
sha="$(sha256sum "$work/smoke.png" | cut -d' ' -f1)"

# Multipart upload: POST /api/v1/assets.
status="$(curl -sS -o "$work/multipart.json" -w '%{http_code}' --max-time 120 "${auth[@]}" \
  -F "file=@$work/smoke.png;type=image/png" -F "title=smoke test (multipart)" \
  "$base/api/v1/assets")"
[ "$status" = "201" ] || fail "multipart upload ($size bytes): HTTP $status $(head -c 300 "$work/multipart.json")"
multipart_id="$(json "$work/multipart.json" 'd["id"]')"
echo "ok   multipart upload: asset $multipart_id ($size bytes)"

# tus upload in two PATCHes: POST /api/v1/uploads, then PATCH /api/v1/uploads/<id>.
half=$(( size / 2 ))
head -c "$half" "$work/smoke.png" > "$work/part1"
tail -c +"$(( half + 1 ))" "$work/smoke.png" > "$work/part2"
meta="filename $(printf 'smoke.png' | base64),title $(printf 'smoke test (tus)' | base64)"
location="$(curl -sS -D - -o /dev/null --max-time 30 "${auth[@]}" -X POST \
  -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" -H "Upload-Metadata: $meta" \
  "$base/api/v1/uploads" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')"
[ -n "$location" ] || fail "tus creation: no Location"
case "$location" in http*) upload="$location" ;; *) upload="$base$location" ;; esac
offset=0
for part in "$work/part1" "$work/part2"; do
  status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 120 "${auth[@]}" -X PATCH \
    -H 'Tus-Resumable: 1.0.0' -H "Upload-Offset: $offset" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$part" "$upload")"
  [ "$status" = "204" ] || fail "tus PATCH at offset $offset: HTTP $status"
  offset=$(( offset + $(wc -c < "$part") ))
done
curl -sS -o "$work/upload.json" --max-time 30 "${auth[@]}" -H 'Accept: application/json' "$upload"
tus_id="$(json "$work/upload.json" 'd["asset_id"]')"
echo "ok   tus upload: asset $tus_id (2 PATCHes)"

# --- both land with the right bytes and are processed by the workers -----------------------
cleanup() {
  for id in "$multipart_id" "$tus_id"; do
    curl -sS -o /dev/null --max-time 30 "${auth[@]}" -X DELETE "$base/api/v1/assets/$id" || true
  done
}
trap 'cleanup; rm -rf "$work"' EXIT
deadline=$(( $(date +%s) + wait_seconds ))
for id in "$multipart_id" "$tus_id"; do
  while :; do
    curl -sS -o "$work/asset.json" --max-time 15 "${auth[@]}" "$base/api/v1/assets/$id"
    [ "$(json "$work/asset.json" 'd["sha256"]')" = "$sha" ] || fail "asset $id: sha256 differs"
    state="$(json "$work/asset.json" 'd.get("media_state")')"
    [ "$state" = "ready" ] && break
    [ "$state" = "failed" ] && fail "asset $id: processing failed"
    [ "$(date +%s)" -lt "$deadline" ] || fail "asset $id: still $state after ${wait_seconds}s (workers?)"
    sleep 10
  done
  curl -sS -o "$work/renditions.json" --max-time 15 "${auth[@]}" "$base/api/v1/assets/$id/renditions"
  count="$(json "$work/renditions.json" 'len(d["items"])')"
  [ "$count" -gt 0 ] || fail "asset $id: no renditions"
  # Renditions are served through short-lived presigned S3 URLs, not CloudFront paths.
  url="$(json "$work/renditions.json" 'd["items"][0]["url"]')"
  case "$url" in *X-Amz-Signature=*) ;; *) fail "asset $id: rendition URL is not presigned" ;; esac
  echo "ok   asset $id: ready, sha256 matches, $count renditions (presigned)"
done
echo "smoke test passed"
