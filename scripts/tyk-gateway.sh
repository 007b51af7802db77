#!/usr/bin/env bash
# Build the Tyk OSS Gateway that the tyk kind's end-to-end tests run, once per pinned release:
#   scripts/tyk-gateway.sh DIR
# puts `tyk-gateway` and the gateway's error templates in DIR/tyk-gateway-<release>-<commit>/, and prints
# that directory. A second run finds the binary and builds nothing; Go's module and build caches
# stay where Go keeps them, so a fresh clone on the same machine only links.
set -euo pipefail

# The release that the generated tyk/docker-compose.yml runs. Tyk's module path has no /v5, so
# go.mod requires it by the pseudo-version of this tag's commit.
release=v5.8.1
module="$(cd "$(dirname "$0")/tyk-gateway" && pwd)"
version=$(awk '$1 == "require" && $2 == "github.com/TykTechnologies/tyk" { print $3 }' "$module/go.mod")
out="$1/tyk-gateway-$release-${version##*-}"

if [ ! -x "$out/tyk-gateway" ]; then
  command -v go >/dev/null || { echo "error: the tyk tests build Tyk Gateway with Go, and \`go\` is not on PATH" >&2; exit 1; }
  echo "building Tyk Gateway $release (a few minutes, once)" >&2
  mkdir -p "$out"
  # go.sum pins the hash of every module, and -mod=readonly refuses any module it does not list;
  # the checksum database is not asked, since it does not serve every version Tyk pins.
  # Go names every module it downloads; keep that in a log, and show it only on failure.
  if ! (cd "$module" && GOSUMDB=off GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags "-X github.com/TykTechnologies/tyk/internal/build.Version=$release" \
    -o "$out/tyk-gateway.partial" .) >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log" >&2
    echo "error: building Tyk Gateway failed; the whole log is in $out/build.log" >&2
    exit 1
  fi
  source_dir=$(cd "$module" && GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' github.com/TykTechnologies/tyk)
  rm -rf "$out/templates"
  cp -R "$source_dir/templates" "$out/templates"
  chmod -R u+w "$out/templates"
  mv "$out/tyk-gateway.partial" "$out/tyk-gateway"
fi
echo "$out"
