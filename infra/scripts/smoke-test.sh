#!/usr/bin/env bash
# Deployment step 20: the public endpoints answer through CloudFront and the ALB.
#   infra/scripts/smoke-test.sh https://openwan.example.com
set -euo pipefail
base="${1:?usage: smoke-test.sh https://your-domain}"

check() {
  local path="$1" expected="$2" status
  status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 "$base$path")"
  if [ "$status" != "$expected" ]; then
    echo "FAIL $path: HTTP $status (expected $expected)" >&2
    return 1
  fi
  echo "ok   $path: HTTP $status"
}

check /health 200
check /alive 200
check /ready 200          # database, storage and queue reachable
check /openapi.json 200
check /api/v1/assets 401  # authentication enforced
# HTTP must redirect to HTTPS.
http_status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 "${base/https:/http:}/health")"
[ "$http_status" = "301" ] && echo "ok   http -> https redirect" || { echo "FAIL redirect: $http_status" >&2; exit 1; }
