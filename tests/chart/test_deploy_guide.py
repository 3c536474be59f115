"""docs/deploy.md's walkthroughs run here as a platform engineer types them (tests/chart/guide.py):
the production install, the air-gapped install and the kind loop. What a cluster would do is
checked on what it would receive: every Secret and key the rendered pods read is created by a
command of the guide, and the namespace's Pod Security label admits every pod."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chart.guide import GuideRun, iter_pod_specs, run_walkthrough, walkthroughs

WALKTHROUGHS = ("production", "air-gapped", "kind")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GuideRun]:
    return {name: run_walkthrough(name, tmp_path_factory.mktemp(name)) for name in WALKTHROUGHS}


def test_the_guide_has_its_walkthroughs() -> None:
    found = walkthroughs()
    assert set(WALKTHROUGHS) <= set(found)
    assert all(found[name] for name in WALKTHROUGHS)


@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_every_command_of_the_walkthrough_succeeds(runs: dict[str, GuideRun], name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, run.output


def secret_references(pod_spec: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(Secret name, key or None for the whole Secret) that a pod cannot start without."""
    for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                yield ref["name"], ref["key"]
        for source in container.get("envFrom", []):
            ref = source.get("secretRef")
            if ref and not ref.get("optional"):
                yield ref["name"], None
    for volume in pod_spec.get("volumes", []):
        secret = volume.get("secret")
        if secret and not secret.get("optional"):
            items = secret.get("items") or [{"key": None}]
            for item in items:
                yield secret["secretName"], item["key"]
        for source in volume.get("projected", {}).get("sources", []):
            secret = source.get("secret")
            if secret and not secret.get("optional"):
                for item in secret.get("items") or [{"key": None}]:
                    yield secret["name"], item["key"]
    for pull in pod_spec.get("imagePullSecrets", []):
        yield pull["name"], None


@pytest.mark.parametrize("name", ["production", "air-gapped"])
def test_every_secret_the_pods_read_is_created_by_the_guide(
    runs: dict[str, GuideRun], name: str
) -> None:
    run = runs[name]
    assert run.returncode == 0, run.output
    (release,) = run.releases.values()
    namespaces = {o["metadata"].get("namespace") for o in release if o["kind"] == "Deployment"}
    (namespace,) = namespaces
    created = run.secrets(namespace)
    missing = []
    for workload, spec in iter_pod_specs(release):
        for secret, key in secret_references(spec):
            data = {
                **created.get(secret, {}).get("data", {}),
                **created.get(secret, {}).get("stringData", {}),
            }
            if secret not in created or (key is not None and key not in data):
                missing.append(f"{workload}: Secret {secret!r} key {key!r}")
    assert missing == []


@pytest.mark.parametrize("name", ["production", "air-gapped"])
def test_the_namespace_enforces_restricted_pod_security(
    runs: dict[str, GuideRun], name: str
) -> None:
    run = runs[name]
    (release,) = run.releases.values()
    (namespace,) = {o["metadata"]["namespace"] for o in release if o["kind"] == "Deployment"}
    labels = run.namespace_labels.get(namespace, {})
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"


def test_air_gapped_install_uses_the_packaged_chart_and_the_internal_registry(
    runs: dict[str, GuideRun],
) -> None:
    run = runs["air-gapped"]
    assert run.returncode == 0, run.output
    packages = list(Path(run.workdir).rglob("aduan-*.tgz"))
    assert packages, "the walkthrough packages the chart"
    installs = [c for c in run.commands if c[:2] in (["helm", "install"], ["helm", "upgrade"])]
    assert installs
    assert all(any(a.endswith(".tgz") for a in c) for c in installs), installs
    (release,) = run.releases.values()
    images = {
        container["image"]
        for _, spec in iter_pod_specs(release)
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]
    }
    assert images
    registries = {image.split("/", 1)[0] for image in images}
    assert len(registries) == 1, images
    assert next(iter(registries)).endswith(".internal"), images
    # The images the guide copies in are the images the release runs.
    copied = " ".join(" ".join(c) for c in run.commands if c[0] in ("skopeo", "docker"))
    for image in images:
        repository = image.split("/", 1)[1].split("@")[0].split(":")[0]
        assert repository.split("/")[-1] in copied, image


def test_kind_loop_deploys_with_the_kind_profile(runs: dict[str, GuideRun]) -> None:
    run = runs["kind"]
    assert run.ran("kind", "create", "cluster")
    assert run.ran("skaffold", "-p", "kind")
