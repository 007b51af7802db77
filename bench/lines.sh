#!/usr/bin/env bash
# Rust lines in a new project of every kind, by owner as its grpc-scaffold.toml records them:
# the tool's files in the project's own tree, the user's, and the copy of the runtime crate
# (vendor/, which the tool replaces whole); then the runtime's lines outside its tests.
#   bench/lines.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
scaffold="$PWD/target/release/grpc-scaffold"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

count() {
  python3 - "$1" <<'PY'
import pathlib, sys, tomllib
root = pathlib.Path(sys.argv[1])
files = tomllib.loads((root / "grpc-scaffold.toml").read_text())["files"]
lines = {"tool": 0, "user": 0, "runtime": 0}
for path, entry in files.items():
    if path.endswith(".rs"):
        lines[entry["owner"]] += len((root / path).read_text().splitlines())
print(f'{lines["tool"]:>10,} {lines["user"]:>10,} {lines["runtime"]:>10,}')
PY
}

printf '%-12s %10s %10s %10s\n' kind tool user runtime
for kind in $("$scaffold" list | awk '{ print $1 }'); do
  if [ "$kind" = custom ]; then
    api=tests/fixtures/tricky/api
    "$scaffold" new lines-custom -o "$dir/$kind" -I "$api" --proto "$api/shop.proto" \
      --proto "$api/v2/greeter.proto" --proto "$api/async/jobs.proto" >/dev/null
  else
    "$scaffold" new "lines-$kind" --kind "$kind" -o "$dir/$kind" >/dev/null
  fi
  printf '%-12s %s\n' "$kind" "$(count "$dir/$kind")"
done

# The runtime outside its tests: a file of tests, the callouts' test support (declared under
# `#[cfg(test)]`), or a module's `#[cfg(test)]` tail.
python3 - runtime <<'PY'
import pathlib, sys
total = 0
for path in sorted(pathlib.Path(sys.argv[1], "src").rglob("*.rs")):
    if path.name == "tests.rs" or "tests" in path.parts or path.parts[-2:] == ("callout", "testing.rs"):
        continue
    lines = path.read_text().splitlines()
    tail = (i for i, line in enumerate(lines[:-1])
            if line.strip() == "#[cfg(test)]" and lines[i + 1].startswith("mod tests {"))
    cut = next(tail, len(lines))
    total += cut
print(f"runtime (non-test lines of src/): {total:,}")
PY
