#!/usr/bin/env bash
# Builds kube-apiserver, kube-scheduler and kube-controller-manager from Debian's
# `kubernetes` source package and caches them outside the repository.
#
# Idempotent: when the cached binaries exist it only makes sure etcd is installed.
# Cache: ${VK_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vk-aci/control-plane}/<version>/bin
set -euo pipefail

K8S_VERSION=1.20.2
CACHE_ROOT=${VK_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vk-aci/control-plane}
BIN_DIR="$CACHE_ROOT/$K8S_VERSION/bin"
COMPONENTS=(kube-apiserver kube-scheduler kube-controller-manager)

log() { printf '[control-plane] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# etcd is needed at run time, whether or not the binaries are cached.
apt_install etcd-server openssl

have_all() {
    for c in "${COMPONENTS[@]}"; do [ -x "$BIN_DIR/$c" ] || return 1; done
}
if have_all; then
    log "cached in $BIN_DIR"
    exit 0
fi

# One build at a time per cache (parallel test binaries may all find the cache empty).
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if have_all; then
    log "cached in $BIN_DIR"
    exit 0
fi

apt_install golang-go rsync make dpkg-dev ca-certificates

# Enable source indexes: derive deb-src entries from the machine's own Debian source list.
enable_deb_src() {
    if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    local derived=/etc/apt/sources.list.d/vk-aci-deb-src.sources
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | as_root tee "$derived" >/dev/null
    elif [ -f /etc/apt/sources.list ]; then
        grep -E '^deb ' /etc/apt/sources.list | sed -E 's/^deb /deb-src /' \
            | as_root tee /etc/apt/sources.list.d/vk-aci-deb-src.list >/dev/null
    else
        log "no Debian source list found to derive deb-src from"; exit 1
    fi
    as_root apt-get update -qq
}
enable_deb_src

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vk-k8s-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
log "fetching Debian's kubernetes source package"
apt-get source --download-only kubernetes >/dev/null
orig=$(ls kubernetes_*.orig.tar.* | head -n 1)
log "unpacking $orig"
tar xf "$orig"
tree="$WORK/kubernetes-$K8S_VERSION"
[ -d "$tree" ] || { log "expected $tree after unpacking"; exit 1; }

# GOPATH mode, as Debian's packaging builds it.
mkdir -p "$WORK/.go/src/k8s.io"
ln -s "$tree" "$WORK/.go/src/k8s.io/kubernetes"
export GOPATH="$WORK/.go" GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOCACHE="$WORK/.gocache"
cd "$WORK/.go/src/k8s.io/kubernetes"
log "building ${COMPONENTS[*]} (about 10 minutes on 2 cores)"
make WHAT="cmd/kube-apiserver cmd/kube-scheduler cmd/kube-controller-manager" >"$WORK/build.log" 2>&1 || {
    tail -n 50 "$WORK/build.log" >&2; exit 1; }

mkdir -p "$BIN_DIR.tmp"
for c in "${COMPONENTS[@]}"; do
    found=$(find _output -type f -name "$c" -perm -u+x | head -n 1)
    [ -n "$found" ] || { log "$c not produced"; exit 1; }
    cp "$found" "$BIN_DIR.tmp/$c"
done
rm -rf "$BIN_DIR"
mv "$BIN_DIR.tmp" "$BIN_DIR"
log "cached in $BIN_DIR"
