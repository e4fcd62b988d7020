#!/usr/bin/env bash
# containerts quick start.
#   ./quickstart.sh daemon [containertsd flags…]  set everything up, then run containertsd on its default paths
#   ./quickstart.sh test                           set everything up, then run every test (prints "N passed, M failed")
#   ./quickstart.sh setup                          only set up (idempotent)
# Setting up means: pnpm 12.4.2 when missing, the Debian packages the project needs when missing (runc,
# busybox-static, containerd for the reference ctr, docker-registry, containerd's Go source for the API
# compatibility test, tmux, golang-go for the Go client test), `pnpm install --frozen-lockfile`, and the build.
set -euo pipefail
cd "$(dirname "$0")"

need_root() { [ "$(id -u)" = 0 ] || { echo "quickstart: $1 needs root (mounts, runc, /run/containerts)" >&2; exit 1; }; }

setup() {
  need_root "setup"
  local pkgs=()
  command -v runc >/dev/null 2>&1 || pkgs+=(runc)
  command -v ctr >/dev/null 2>&1 || pkgs+=(containerd)
  command -v containerd-shim-runc-v2 >/dev/null 2>&1 || pkgs+=(containerd)
  [ -x /bin/busybox ] || pkgs+=(busybox-static)
  command -v docker-registry >/dev/null 2>&1 || pkgs+=(docker-registry)
  [ -d /usr/share/gocode/src/github.com/containerd/containerd/api ] || pkgs+=(golang-github-containerd-containerd-dev)
  command -v tmux >/dev/null 2>&1 || pkgs+=(tmux)
  command -v go >/dev/null 2>&1 || pkgs+=(golang-go)   # builds the Go client test (packages/tasks/test/goclient)
  command -v jq >/dev/null 2>&1 || pkgs+=(jq)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "quickstart: installing Debian packages: ${pkgs[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
  # The Debian containerd package starts its own daemon through systemd where systemd runs; it is only a
  # reference here and never shares our paths.
  if [ "$(pnpm --version 2>/dev/null || true)" != "12.4.2" ]; then
    echo "quickstart: installing pnpm 12.4.2" >&2
    npm install -g pnpm@12.4.2 >/dev/null
  fi
  pnpm install --frozen-lockfile
  pnpm build
  # Our runtime v2 shim, found by containertsd and by a real containerd through PATH
  # (runtime io.containerts.tsrunc.v1 → binary containerd-shim-tsrunc-v1).
  ln -sf "$PWD/packages/shim-runc/bin/containerd-shim-tsrunc-v1" /usr/local/bin/containerd-shim-tsrunc-v1
}

case "${1:-}" in
  setup) setup ;;
  daemon)
    shift
    setup
    exec apps/daemon/bin/containertsd "$@"
    ;;
  test)
    setup
    rc=0
    pnpm test || rc=$?
    node tools/test-summary.mjs || rc=1
    exit $rc
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
