"""skaffold.yaml agrees with the repository: the five artifacts (four services, the desk) build from the one Dockerfile at
the root with the build argument SERVICE, releases point at the chart and its value files, and
every value Skaffold sets exists in values.yaml."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from chart.render import CHART_DIR, REPO_ROOT, WORKLOADS

SKAFFOLD = yaml.safe_load((REPO_ROOT / "skaffold.yaml").read_text())
DEFAULT_VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
TEMPLATE_VAR = re.compile(r"\{\{\s*\.IMAGE_(?:REPO|TAG|DIGEST)_([A-Za-z0-9_]+)\s*\}\}")


def releases() -> Iterator[tuple[str, dict[str, Any]]]:
    for release in SKAFFOLD["deploy"]["helm"]["releases"]:
        yield "main", release
    for profile in SKAFFOLD.get("profiles", []):
        for release in profile.get("deploy", {}).get("helm", {}).get("releases", []):
            yield profile["name"], release


RELEASES = list(releases())
RELEASE_IDS = [f"{where}:{release['name']}" for where, release in RELEASES]


def test_schema_version_and_kind() -> None:
    assert SKAFFOLD["apiVersion"] == "skaffold/v4beta14"
    assert SKAFFOLD["kind"] == "Config"


def test_artifacts_build_each_service_from_the_root_dockerfile() -> None:
    artifacts = {a["image"]: a for a in SKAFFOLD["build"]["artifacts"]}
    assert set(artifacts) == {f"aduan-{c}" for c in WORKLOADS}
    dockerfile = REPO_ROOT / "Dockerfile"
    # The Dockerfile takes SERVICE as a global build argument.
    assert re.search(r"^ARG SERVICE=\w+$", dockerfile.read_text(), re.MULTILINE)
    for component in WORKLOADS:
        artifact = artifacts[f"aduan-{component}"]
        context = REPO_ROOT / artifact["context"]
        assert context.resolve() == REPO_ROOT
        assert (context / artifact["docker"]["dockerfile"]).resolve() == dockerfile
        assert artifact["docker"]["buildArgs"] == {"SERVICE": component}
    for profile in SKAFFOLD.get("profiles", []):
        # A profile that replaced the artifacts would have to pass SERVICE again.
        assert "artifacts" not in profile.get("build", {}), profile["name"]


def test_profiles() -> None:
    profiles = {p["name"]: p for p in SKAFFOLD["profiles"]}
    assert {"kind", "prod"} <= set(profiles)
    assert profiles["kind"]["build"]["local"]["push"] is False
    assert profiles["prod"]["build"]["local"]["push"] is True


@pytest.mark.parametrize(("where", "release"), RELEASES, ids=RELEASE_IDS)
def test_release_chart_and_values_files_exist(where: str, release: dict[str, Any]) -> None:
    assert (REPO_ROOT / release["chartPath"]).resolve() == CHART_DIR
    for values_file in release.get("valuesFiles", []):
        assert (REPO_ROOT / values_file).is_file(), (where, values_file)
    if where == "kind":
        assert "charts/aduan/values-kind.yaml" in release["valuesFiles"]


def lookup(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        assert isinstance(node, dict), f"{dotted} is not in values.yaml"
        assert part in node, f"{dotted} is not in values.yaml"
        node = node[part]
    return node


@pytest.mark.parametrize(("where", "release"), RELEASES, ids=RELEASE_IDS)
def test_set_values_exist_in_values_yaml(where: str, release: dict[str, Any]) -> None:
    artifacts = {a["image"].replace("-", "_") for a in SKAFFOLD["build"]["artifacts"]}
    keys = {**release.get("setValueTemplates", {}), **release.get("setValues", {})}
    assert keys
    for key, template in keys.items():
        lookup(DEFAULT_VALUES, key)
        for name in TEMPLATE_VAR.findall(str(template)):
            assert name in artifacts, f"{where}: {template} names no artifact"
    for component in WORKLOADS:
        repository = release["setValueTemplates"][f"{component}.image.repository"]
        assert repository == f"{{{{.IMAGE_REPO_aduan_{component}}}}}"
        assert release["setValueTemplates"][f"{component}.image.tag"].startswith(
            f"{{{{.IMAGE_TAG_aduan_{component}}}}}"
        )
