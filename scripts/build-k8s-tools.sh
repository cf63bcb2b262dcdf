#!/usr/bin/env bash
# Builds cosign, kube-apiserver, kube-controller-manager, etcd and helm from the Go module proxy into a cache
# keyed by version outside the clone, so every clone on this machine reuses them. Idempotent: a tool
# whose binary is already cached is not rebuilt. Without Go it says so and exits 0; the tests that need
# these binaries then skip and say why.
#   MAXPRO_TOOLS_CACHE   cache root (default ~/.cache/maxpro/tools)
#   MAXPRO_K8S_TOOLS     space-separated subset to build (default: all)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../tools/k8s/versions.env
. "$here/tools/k8s/versions.env"
cache="${MAXPRO_TOOLS_CACHE:-$HOME/.cache/maxpro/tools}"
want="${MAXPRO_K8S_TOOLS:-etcd cosign kubernetes helm}"
log() { echo "build-k8s-tools: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "go not found on PATH: cosign, kube-apiserver, etcd and helm are not built; the tests that need them will skip"
  exit 0
fi
mkdir -p "$cache"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOMAXPROCS="${GOMAXPROCS:-2}"
k8s_dir="$cache/kubernetes-v$KUBERNETES_VERSION"
etcd_dir="$cache/etcd-v$ETCD_VERSION"
helm_dir="$cache/helm-v$HELM_VERSION"
cosign_dir="$cache/cosign-v$COSIGN_VERSION"

# Builds into a scratch dir and renames it into place, so a cache entry is complete or absent.
scratch() { mktemp -d "$cache/.build-$1-XXXXXX"; }
timed() { local t0=$SECONDS; "$@"; log "$1 took $((SECONDS - t0))s"; }

build_kubernetes() {
  local v="$KUBERNETES_VERSION" minor out work gomod
  minor="$(echo "$v" | cut -d. -f2)"
  out="$(scratch "$FUNCNAME")"; work="$out/src"; mkdir -p "$work"
  # The path of the downloaded go.mod, from go's JSON (no jq on a fresh machine).
  gomod="$(go mod download -json "k8s.io/kubernetes@v$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || { log "go mod download k8s.io/kubernetes@v$v gave no go.mod"; exit 1; }
  (
    cd "$work"
    go mod init maxpro.local/k8stools >/dev/null 2>&1
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths;
    # those replaces do not apply to a dependent module, so point each one at its published v0.X.Y.
    # The list comes from the downloaded go.mod itself.
    local staging
    staging="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod")"
    [ -n "$staging" ] || { log "no staging modules found in $gomod"; exit 1; }
    for m in $staging; do go mod edit -replace="$m=$m@v0.$minor.${v##*.}"; done
    go get "k8s.io/kubernetes@v$v" >/dev/null
    go get "k8s.io/kubernetes/cmd/kube-apiserver@v$v" "k8s.io/kubernetes/cmd/kube-controller-manager@v$v" >/dev/null
    local pkg=k8s.io/component-base/version
    go build -trimpath -o "$out/" -ldflags "-s -w -X $pkg.gitVersion=v$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor \
      -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  )
  rm -rf "$work"
  "$out/kube-apiserver" --version
  mv -T "$out" "$k8s_dir"
}

build_etcd() {
  local v="$ETCD_VERSION" out work
  out="$(scratch "$FUNCNAME")"; work="$out/src"; mkdir -p "$work"
  (
    cd "$work"
    go mod init maxpro.local/etcdtool >/dev/null 2>&1
    # server/v3's own go.mod replaces its sibling modules with ../ paths, which `go install` refuses;
    # as a dependency its requires (the same release of each sibling) are used instead.
    go get "go.etcd.io/etcd/server/v3@v$v" >/dev/null
    go build -trimpath -o "$out/etcd" -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$v" go.etcd.io/etcd/server/v3
  )
  rm -rf "$work"
  "$out/etcd" --version
  mv -T "$out" "$etcd_dir"
}

build_helm() {
  local v="$HELM_VERSION" out
  out="$(scratch helm)"
  GOBIN="$out" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$v" \
    "helm.sh/helm/v3/cmd/helm@v$v"
  "$out/helm" version --short
  mv -T "$out" "$helm_dir"
}

# The supply-chain tests cross-verify signed BPF objects with it (docs/supply-chain.md).
build_cosign() {
  local v="$COSIGN_VERSION" out
  out="$(scratch cosign)"
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/sigstore/cosign/v3/cmd/cosign@v$v"
  "$out/cosign" version 2>&1 | grep -i gitversion
  mv -T "$out" "$cosign_dir"
}

for tool in $want; do
  case "$tool" in
    kubernetes) bin="$k8s_dir/kube-controller-manager" ;;
    etcd) bin="$etcd_dir/etcd" ;;
    helm) bin="$helm_dir/helm" ;;
    cosign) bin="$cosign_dir/cosign" ;;
    *) log "unknown tool $tool"; exit 2 ;;
  esac
  # One builder per tool and cache: a concurrent run waits, then finds the binary cached.
  exec 9>"$cache/.lock-$tool"
  flock 9
  if [ -x "$bin" ]; then log "$tool cached in $(dirname "$bin")"; continue; fi
  rm -rf "$cache/.build-build_$tool-"* "$cache/.build-$tool-"*  # left by an interrupted build
  log "building $tool (cold build; cached afterwards in $cache)"
  timed "build_$tool"
done
