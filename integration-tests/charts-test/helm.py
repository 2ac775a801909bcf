"""Runs the real Helm v4 library (helm-sdkpy) for the chart tests and prints JSON on stdout.

  helm.py lint CHART [VALUES_JSON]
      Lints a copy of CHART whose values.yaml has VALUES_JSON merged in (Helm's lint only uses
      the chart's own values). Prints {"messages": [...], "errors": [...]}.
  helm.py install CHART RELEASE NAMESPACE KUBECONFIG VALUES_JSON
      Installs (no wait) and prints {"manifest": [objects], "hooks": [objects], "notes": str}.
  helm.py uninstall RELEASE NAMESPACE KUBECONFIG
      Uninstalls (no wait) and prints the result.
A Helm failure prints {"error": message} and exits with status 2.
"""

import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

import helm_sdkpy as helm
import yaml


def merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def lint(chart, values):
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / Path(chart).name
        shutil.copytree(chart, copy)
        if values:
            path = copy / "values.yaml"
            merged = merge(yaml.safe_load(path.read_text()) or {}, values)
            path.write_text(yaml.safe_dump(merged, sort_keys=False))
        config = helm.Configuration()
        return asyncio.run(helm.Lint(config).run(str(copy)))


def objects(text):
    return [doc for doc in yaml.safe_load_all(text or "") if doc]


def install(chart, release, namespace, kubeconfig, values):
    config = helm.Configuration(namespace=namespace, kubeconfig=kubeconfig)
    result = asyncio.run(
        helm.Install(config).run(release, chart, values=values, wait=False, timeout=120)
    )
    hooks = []
    for hook in result.get("hooks") or []:
        hooks.extend(objects(hook.get("manifest")))
    info = result.get("info") or {}
    return {"manifest": objects(result.get("manifest")), "hooks": hooks, "notes": info.get("notes", "")}


def uninstall(release, namespace, kubeconfig):
    config = helm.Configuration(namespace=namespace, kubeconfig=kubeconfig)
    return asyncio.run(helm.Uninstall(config).run(release, wait=False, timeout=120))


def main(argv):
    command, args = argv[1], argv[2:]
    try:
        if command == "lint":
            out = lint(args[0], json.loads(args[1]) if len(args) > 1 else {})
        elif command == "install":
            out = install(args[0], args[1], args[2], args[3], json.loads(args[4]))
        elif command == "uninstall":
            out = uninstall(args[0], args[1], args[2])
        else:
            raise SystemExit(f"unknown command {command}")
    except helm.HelmError as error:
        print(json.dumps({"error": str(error)}))
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
