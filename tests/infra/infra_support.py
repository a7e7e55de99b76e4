"""Helpers and fixtures for the infrastructure checks (imported by conftest.py).

The tools (kubectl with its built-in kustomize, kubernetes-validate, checkov, hadolint)
live in a separate virtual environment, ``.venv-checks`` at the repository root, built
from ``infra/requirements-checks.txt``. A missing tool is a failure, not a skip.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "infra" / "k8s"
CHECKS_BIN = REPO / ".venv-checks" / "bin"
OVERLAYS = ("small", "metropole")
# The Kubernetes release the manifests are validated against (offline schemas).
KUBERNETES_VERSION = "1.33.0"
ZONE_NAMESPACES = {
    "hyperviseur-storage",
    "hyperviseur-ingestion",
    "hyperviseur-processing",
    "hyperviseur-serving",
    "hyperviseur-public",
    "hyperviseur-audit",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}


def tool(name: str) -> Path:
    path = CHECKS_BIN / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing. Build the checks venv first: "
            "python3 -m venv .venv-checks && .venv-checks/bin/pip install -r infra/requirements-checks.txt",
            pytrace=False,
        )
    return path


def run(args: list, timeout: int = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=REPO, **kwargs)


class Rendered:
    def __init__(self, overlay: str, text: str):
        self.overlay = overlay
        self.text = text
        self.docs = [d for d in yaml.safe_load_all(text) if d]

    def of_kind(self, *kinds: str) -> list[dict]:
        return [d for d in self.docs if d["kind"] in kinds]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict:
        for d in self.docs:
            md = d["metadata"]
            if d["kind"] == kind and md["name"] == name and (namespace is None or md.get("namespace") == namespace):
                return d
        raise KeyError(f"{kind}/{name} not in overlay {self.overlay}")


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    kubectl = tool("kubectl")
    out = {}
    for overlay in OVERLAYS:
        proc = run([kubectl, "kustomize", K8S / "overlays" / overlay])
        assert proc.returncode == 0, f"kustomize failed for {overlay}:\n{proc.stderr}"
        out[overlay] = Rendered(overlay, proc.stdout)
    return out


@pytest.fixture(scope="session")
def rendered_dir(rendered, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("rendered")
    for overlay, r in rendered.items():
        (d / f"{overlay}.yaml").write_text(r.text)
    return d


def pod_spec(doc: dict) -> dict | None:
    kind = doc["kind"]
    if kind == "Pod":
        return doc["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind in WORKLOAD_KINDS:
        return doc["spec"]["template"]["spec"]
    return None


def containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))
