#!/usr/bin/env bash
# Validate docker-compose.yml with Debian's docker-compose (no Docker engine needed), in a
# throwaway copy with generated secrets, so nothing is written into the checkout.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$here/docker-compose.yml" "$here/.env.example" "$here/deploy" "$tmp/"
cp "$tmp/.env.example" "$tmp/.env"
(cd "$tmp" && bash deploy/make-secrets.sh >/dev/null && docker-compose -f docker-compose.yml config -q)
echo "docker-compose config: valid"
