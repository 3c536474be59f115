"""Runs the walkthroughs of docs/deploy.md as a platform engineer would type them, on a machine
without a cluster, so that the guide cannot drift from what works.

A walkthrough is every ```sh block (indented ones in list items too) between
`<!-- walkthrough: NAME[, NAME…] -->` and the next `<!-- walkthrough` marker or
`<!-- /walkthrough -->`, run in order by one `bash -euo pipefail` in a scratch directory that
holds the repository's `charts/` (the guide assumes a checkout). A block right after
`<!-- needs a cluster -->` is shown to the reader but not run.
Every command runs for real (openssl, head, base64, `uv run aduan keys`, `helm lint`, `helm
package`, `helm template` …) except those that need a cluster or a container engine, which go
through shims on PATH:

- `helm install` / `helm upgrade --install` renders the same release with the real
  `helm template` (same chart, values, --set and namespace) and keeps the manifests;
- `kubectl create …` runs the real kubectl with `--dry-run=client -o yaml` and keeps the object;
  `kubectl label namespace` and `kubectl apply -f` keep what they would change;
- everything else a cluster answers (`kubectl rollout`, `helm test`, `kind`, `skaffold`, `docker`,
  …) is recorded, not run. A command that is neither run nor known is an error, and so is a
  program that is not installed: the guide may use only commands it tells the reader to get.

Proxies point at a closed loopback port, so any attempt to reach a network fails the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "deploy.md"
BIN = Path(sys.executable).parent
REAL = {"helm": str(BIN / "helm"), "kubectl": str(BIN / "kubectl")}
# Programs that need a cluster, a registry or a container engine: recorded, never run.
RECORDED_ONLY = ("kind", "skaffold", "docker", "skopeo", "grpcurl")
HELM_RUN = {"lint", "template", "package", "dependency", "show", "version"}
HELM_CLUSTER = {"test", "status", "history", "rollback", "uninstall", "list", "get"}
KUBECTL_CLUSTER = {
    "rollout",
    "get",
    "logs",
    "port-forward",
    "wait",
    "describe",
    "exec",
    "delete",
    "top",
    "run",
}
HELM_INSTALL_ONLY_FLAGS = {
    "--install",
    "--wait",
    "--atomic",
    "--create-namespace",
    "--wait-for-jobs",
}
HELM_INSTALL_ONLY_OPTIONS = {"--timeout"}
CLOSED_PORT_PROXY = "http://127.0.0.1:9"

MARKER = re.compile(r"<!--\s*(/?)walkthrough(?::\s*([\w, -]+?))?\s*-->")
FENCE = re.compile(r"^( *)```sh\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!--\s*needs a cluster\s*-->\s*$")


def walkthroughs(text: str | None = None) -> dict[str, list[str]]:
    """NAME -> its ```sh blocks, in order."""
    text = GUIDE.read_text() if text is None else text
    found: dict[str, list[str]] = {}
    marks = list(MARKER.finditer(text))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        if mark.group(1) or not mark.group(2):
            continue
        end = following.start() if following is not None else len(text)
        blocks = [
            textwrap.dedent(block.group(2))
            for block in FENCE.finditer(text, mark.end(), end)
            if not NOT_RUN.search(text[mark.end() : block.start()])
        ]
        for name in mark.group(2).split(","):
            found.setdefault(name.strip(), []).extend(blocks)
    return found


@dataclass
class GuideRun:
    """What a walkthrough did: its exit status and output, the objects it created (Secrets,
    namespaces, applied manifests), the releases it installed (as rendered), every shimmed
    command, and the scratch directory it ran in."""

    returncode: int
    output: str
    workdir: Path
    objects: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def secrets(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Secrets in the namespace: those created, and those cert-manager writes for the
        Certificates applied (tls.crt, tls.key and, from a CA issuer, ca.crt)."""
        found: dict[str, dict[str, Any]] = {}
        for o in self.objects:
            if o["metadata"].get("namespace") != namespace:
                continue
            if o.get("kind") == "Secret":
                found[o["metadata"]["name"]] = o
            elif o.get("kind") == "Certificate" and o.get("apiVersion", "").startswith(
                "cert-manager.io/"
            ):
                name = o["spec"]["secretName"]
                found[name] = {"data": dict.fromkeys(("tls.crt", "tls.key", "ca.crt"), "")}
        return found

    def ran(self, program: str, *args: str) -> bool:
        return any(c[0] == program and all(a in c[1:] for a in args) for c in self.commands)


def run_walkthrough(name: str, workdir: Path, text: str | None = None) -> GuideRun:
    blocks = walkthroughs(text)[name]
    shims = workdir / ".shims"
    out = workdir / ".guide"
    shims.mkdir(parents=True)
    (out / "objects").mkdir(parents=True)
    (out / "releases").mkdir()
    for program in ("helm", "kubectl", *RECORDED_ONLY):
        shim = shims / program
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" {program} "$@"\n')
        shim.chmod(0o755)
    (workdir / "charts").symlink_to(REPO_ROOT / "charts")
    script = workdir / "walkthrough.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(blocks))
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    env = {
        "PATH": os.pathsep.join(
            [str(shims), str(Path(uv).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": str(workdir / ".home"),
        "LANG": "C.UTF-8",
        "GUIDE_OUT": str(out),
        # `uv run aduan …` uses the checkout the guide assumes; it must not download anything.
        "UV_PROJECT": str(REPO_ROOT),
        "UV_OFFLINE": "1",
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        **{
            k: CLOSED_PORT_PROXY for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
        },
        "NO_PROXY": "",
        "no_proxy": "",
    }
    done = subprocess.run(
        ["bash", str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    run = GuideRun(done.returncode, done.stdout + done.stderr, workdir)
    for path in sorted((out / "objects").glob("*.yaml")):
        run.objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for path in sorted((out / "releases").glob("*.yaml")):
        run.releases[path.stem] = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    log = out / "commands.jsonl"
    if log.exists():
        run.commands = [json.loads(line) for line in log.read_text().splitlines()]
    labels = out / "namespace-labels.json"
    if labels.exists():
        run.namespace_labels = json.loads(labels.read_text())
    return run


# --- the shims (run as `python guide.py PROGRAM ARGS…` from the scratch directory) ------------


def _namespace(args: Sequence[str]) -> str:
    for i, arg in enumerate(args):
        if arg in ("-n", "--namespace") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--namespace="):
            return arg.split("=", 1)[1]
    return "default"


def _next_file(directory: Path) -> Path:
    return directory / f"{len(list(directory.iterdir())):04d}.yaml"


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def _helm(args: list[str], out: Path) -> int:
    subcommand = args[0] if args else ""
    if subcommand in HELM_RUN:
        return subprocess.call([REAL["helm"], *args])
    if subcommand in HELM_CLUSTER:
        return 0
    if subcommand not in ("install", "upgrade"):
        print(f"guide: helm {subcommand} is neither run nor known here", file=sys.stderr)
        return 2
    if subcommand == "upgrade" and "--install" not in args:
        print("guide: helm upgrade without --install needs an installed release", file=sys.stderr)
        return 2
    rest: list[str] = []
    items = iter(args[1:])
    for arg in items:
        if arg in HELM_INSTALL_ONLY_FLAGS:
            continue
        if arg in HELM_INSTALL_ONLY_OPTIONS:
            next(items, None)
            continue
        if arg.split("=", 1)[0] in HELM_INSTALL_ONLY_OPTIONS:
            continue
        rest.append(arg)
    done = _run([REAL["helm"], "template", *rest])
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    release = next(a for a in rest if not a.startswith("-"))
    (out / "releases" / f"{release}.yaml").write_text(done.stdout)
    print(f"guide: release {release} rendered with helm template (no cluster here)")
    return 0


def _words(args: Sequence[str]) -> list[str]:
    """The arguments that are not flags or flag values (`-n aduan`, `--context=x`)."""
    words: list[str] = []
    items = iter(args)
    for arg in items:
        if arg in ("-n", "--namespace", "--context", "--kubeconfig", "-f", "--filename"):
            next(items, None)
        elif not arg.startswith("-"):
            words.append(arg)
    return words


def _kubectl(args: list[str], out: Path) -> int:
    words = _words(args)
    verb = words[0] if words else ""
    if verb == "create":
        done = _run([REAL["kubectl"], *args, "--dry-run=client", "-o", "yaml"])
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            return done.returncode
        _next_file(out / "objects").write_text(done.stdout)
        return 0
    if verb == "label" and len(words) > 2 and words[1] in ("namespace", "ns"):
        path = out / "namespace-labels.json"
        labels: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
        pairs = [w for w in words[3:] if "=" in w]
        labels.setdefault(words[2], {}).update(dict(p.split("=", 1) for p in pairs))
        path.write_text(json.dumps(labels))
        return 0
    if verb == "apply":
        files = [args[i + 1] for i, a in enumerate(args) if a == "-f" and i + 1 < len(args)]
        for name in files:
            text = sys.stdin.read() if name == "-" else Path(name).read_text()
            namespace = _namespace(args)
            docs = [d for d in yaml.safe_load_all(text) if d]
            for doc in docs:
                doc.setdefault("metadata", {}).setdefault("namespace", namespace)
            _next_file(out / "objects").write_text(yaml.safe_dump_all(docs))
        return 0
    if verb in KUBECTL_CLUSTER:
        return 0
    print(f"guide: kubectl {verb} is neither run nor known here", file=sys.stderr)
    return 2


def _shim(program: str, args: list[str]) -> int:
    out = Path(os.environ["GUIDE_OUT"])
    with (out / "commands.jsonl").open("a") as log:
        log.write(json.dumps([program, *args]) + "\n")
    if program == "helm":
        return _helm(args, out)
    if program == "kubectl":
        return _kubectl(args, out)
    return 0  # RECORDED_ONLY


def iter_pod_specs(objects: Sequence[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload and Pod in a release."""
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Pod":
            yield name, obj["spec"]
        elif obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield name, obj["spec"]["template"]["spec"]


if __name__ == "__main__":
    raise SystemExit(_shim(sys.argv[1], sys.argv[2:]))
