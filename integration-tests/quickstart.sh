#!/usr/bin/env bash
# The local quick start: the whole product on this machine against the ACI emulator.
#
#   bash integration-tests/quickstart.sh up      # build, start everything, apply the examples
#   bash integration-tests/quickstart.sh status  # show nodes and pods again
#   bash integration-tests/quickstart.sh down    # stop everything
#
# `up` builds the Kubernetes 1.20.2 control plane once (cached outside the repository; about
# 10 minutes on 2 cores the first time) and the workspace binaries, then runs `vk-local up`:
# a local control plane, the ACI emulator, and a Linux and a Windows connector (aci-backend on
# a Unix socket + node-agent each), all in the background with their files in ./.vk-local/.
set -euo pipefail
cd "$(dirname "$0")/.."

state_dir=.vk-local
vk_local="${CARGO_TARGET_DIR:-target}/debug/vk-local"

case "${1:-up}" in
    up)
        command -v kubectl >/dev/null || { echo "kubectl is required on PATH" >&2; exit 1; }
        bash integration-tests/control-plane/build.sh
        cargo build --workspace --bins
        exec "$vk_local" --state-dir "$state_dir" up
        ;;
    status | down)
        if [ ! -x "$vk_local" ]; then
            echo "$vk_local is not built; nothing was started from this checkout" >&2
            exit 1
        fi
        exec "$vk_local" --state-dir "$state_dir" "$1"
        ;;
    *)
        echo "usage: $0 up|status|down" >&2
        exit 2
        ;;
esac
