#!/usr/bin/env bash
# Creates (idempotently) the Python virtual environment the chart tests use: the Helm v4
# library from PyPI (`helm-sdkpy`, which bundles Helm's Go code) and cffi. The venv lives
# outside the repository, in ${VK_ACI_HELM_VENV:-~/.cache/vk-aci/helm-venv}.
#
# helm-sdkpy declares Python >= 3.12. A Python 3.12+ is used when one is found; otherwise
# Python 3.11 with --ignore-requires-python (seen working for lint, template and install).
set -euo pipefail

venv="${VK_ACI_HELM_VENV:-$HOME/.cache/vk-aci/helm-venv}"
stamp="$venv/.vk-aci-ready"
if [[ -f "$stamp" ]] && "$venv/bin/python" -c 'import helm_sdkpy' 2>/dev/null; then
    exit 0
fi

pick_python() {
    local candidate
    for candidate in python3.13 python3.12; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' >/dev/null 2>&1; then
            command -v "$candidate"
            return
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root="$(pyenv root)"
        for candidate in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3; do
            if [[ -x "$candidate" ]]; then
                echo "$candidate"
                return
            fi
        done
    fi
    command -v python3
}

python="$(pick_python)"
echo "charts-test: creating $venv with $python" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
extra=()
if ! "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
    extra=(--ignore-requires-python)
fi
"$venv/bin/python" -m pip install --quiet "${extra[@]}" helm-sdkpy cffi pyyaml
"$venv/bin/python" -c 'import helm_sdkpy'
touch "$stamp"
echo "charts-test: ready ($venv)" >&2
