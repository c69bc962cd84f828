#!/usr/bin/env bash
# Prints the path of the pinned kustomize, installing it first (Go, from the Go module proxy)
# into .ndx/tools/bin when it is not there yet.
set -euo pipefail

VERSION=v5.5.0
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/.ndx/tools/bin"
target="$bin/kustomize-$VERSION"

if [ ! -x "$target" ]; then
  go="$(command -v go || true)"
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then
    go=/usr/local/go/bin/go
  fi
  if [ -z "$go" ]; then
    echo "kustomize $VERSION is installed with Go ('go install'), and no Go was found on PATH" \
      "or at /usr/local/go/bin/go: install Go 1.22 or later, or put a kustomize $VERSION" \
      "binary at $target" >&2
    exit 1
  fi
  mkdir -p "$bin"
  staging="$(mktemp -d "$bin/.install.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  echo "installing kustomize $VERSION with $go" >&2
  GOBIN="$staging" GOFLAGS=-mod=mod "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
  mv "$staging/kustomize" "$target"
fi
echo "$target"
