"""Offline rendering and validation of charts/aduan, shared by the chart tests.

Rendering uses Helm's own engine through helm-python-sdk (the Helm Go SDK in a shared library):
no helm binary, no cluster. Rendered objects are checked against the Kubernetes OpenAPI schemas
shipped by kubernetes-validate (strict: unknown fields fail) for one fixed Kubernetes version.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "aduan"
# The Kubernetes version the chart is validated against (schemas shipped by kubernetes-validate).
KUBE_VERSION = "1.34"
RELEASE = "aduan"
NAMESPACE = "aduan"
COMPONENTS = ("intake", "routing", "notification", "query")
GRPC_PORTS = {"intake": 50051, "routing": 50052, "notification": 50053, "query": 50054}
# Custom resources kubernetes-validate has no schema for; checked structurally instead.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
# The only lint finding tolerated: the optional NATS subchart is declared but not vendored
# (it is fetched by `helm dependency update` when nats.enabled is wanted).
MISSING_NATS_DEPENDENCY = "chart directory is missing these dependencies: nats"

# Everything optional switched on at once, so that every template branch is rendered.
EVERYTHING_ON: dict[str, Any] = {
    "global": {
        "imagePullSecrets": [{"name": "regcred"}],
        "otel": {
            "endpoint": "http://otel:4317",
            "resourceAttributes": "deployment.environment=test",
        },
    },
    "natsConnection": {
        "url": "tls://nats.example:4222",
        "auth": {
            "existingSecret": "nats-auth",
            "userKey": "u",
            "passwordKey": "p",
            "credsKey": "x.creds",
        },
    },
    "secrets": {
        "masterKey": {"name": "keys", "key": "master-key"},
        "whatsapp": {"name": "wa"},
        "jwt": {"name": "jwt", "keys": {"PUBLIC_KEY": "jwt.pub", "PRIVATE_KEY": "jwt.key"}},
        "smtp": {"name": "smtp"},
        "officeWebhook": {"name": "office"},
    },
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
    "networkPolicy": {
        "enabled": True,
        "ingress": {"grpcFrom": [{"podSelector": {"matchLabels": {"app": "gateway"}}}]},
        "egress": {
            "providers": {"cidrs": ["203.0.113.0/24"]},
            "postgres": {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]},
        },
    },
    "intake": {
        "image": {"digest": "sha256:" + "a" * 64},
        "config": {"contactAllowlist": "aduan-notification"},
        "env": {"ADUAN_MAX_MESSAGE_BYTES": 8388608},
        "extraEnv": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "aduan"}],
    },
    "routing": {"config": {"slaTicker": False}},
    "notification": {
        "templates": {"enabled": True, "files": {"status_reply.toml": 'id = "status_reply"\n'}},
        "config": {
            "channelMode": "live",
            "smtpHost": "smtp.example",
            "officeWebhookUrl": "https://o",
        },
    },
    "query": {"service": {"type": "ClusterIP", "annotations": {"a": "b"}}},
}


# Mutual TLS from cert-manager Secrets, RS256 tokens from an identity provider, and each service's
# own signing key for the tokens it presents to its peers.
TLS_AND_IDENTITY: dict[str, Any] = {
    "auth": {"jwksUrl": "https://idp.example/jwks.json", "issuer": "https://idp.example"},
    "secrets": {
        "serviceIdentity": {"name": "aduan-identity", "kids": {"query": "query-2026"}},
    },
    "tls": {
        "enabled": True,
        "secretName": "aduan-tls",
        "secretNames": {"intake": "aduan-intake-tls"},
        "clientAuth": "require",
    },
}


@dataclass(frozen=True)
class ValueSet:
    """A named combination of value files (relative to the chart) and inline overrides."""

    name: str
    files: tuple[str, ...] = ()
    overrides: Mapping[str, Any] | None = None

    def values(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for name in self.files:
            merged = deep_merge(merged, yaml.safe_load((CHART_DIR / name).read_text()) or {})
        return deep_merge(merged, dict(self.overrides or {}))


VALUE_SETS = {
    vs.name: vs
    for vs in (
        ValueSet("defaults"),
        ValueSet("kind", ("values-kind.yaml",)),
        ValueSet("production", ("examples/values-production.yaml",)),
        ValueSet("external-nats", ("examples/values-external-nats.yaml",)),
        ValueSet("cloudnativepg", ("examples/values-cloudnativepg.yaml",)),
        ValueSet("everything-on", overrides=EVERYTHING_ON),
        ValueSet("tls-and-identity", overrides=TLS_AND_IDENTITY),
    )
}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm-style merge of value trees: maps merge recursively, anything else is replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def render(values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Render the chart with Helm's engine; template path -> manifest text (NOTES.txt included)."""
    with helm.Chart.load(CHART_DIR) as chart:
        return chart.render(dict(values or {}), name=RELEASE, namespace=NAMESPACE, is_install=True)


def objects(manifests: Mapping[str, str]) -> list[dict[str, Any]]:
    """The Kubernetes objects of a render, as Helm would apply them (NOTES.txt left out)."""
    docs: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


@cache
def rendered_objects(value_set: str) -> tuple[dict[str, Any], ...]:
    """Objects of one named value set, rendered once per test session."""
    return tuple(objects(render(VALUE_SETS[value_set].values())))


def merged_values(values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The chart's defaults coalesced with `values`, as an install would use them."""
    with helm.Chart.load(CHART_DIR) as chart:
        return chart.merge_values(dict(values or {}))


def lint(values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """`helm lint --strict --kube-version` findings of warning severity or worse."""
    report = helm.lint(
        str(CHART_DIR), dict(values or {}), strict=True, kube_version=f"v{KUBE_VERSION}.0"
    )
    return [m for m in report["messages"] if m["severity"] >= 2]


def validate_k8s(obj: Mapping[str, Any]) -> None:
    """Validate one object against the Kubernetes schema (strict: unknown fields are errors).

    Raises kubernetes_validate.ValidationError; SchemaNotFoundError for kinds without a schema.
    """
    kubernetes_validate.validate(dict(obj), KUBE_VERSION, strict=True)


def of_kind(
    objs: tuple[dict[str, Any], ...] | list[dict[str, Any]], kind: str
) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def containers(pod_spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec.get("containers", [])


def string_leaves(tree: Any) -> set[str]:
    """Every string anywhere in a values tree."""
    if isinstance(tree, str):
        return {tree}
    if isinstance(tree, Mapping):
        return set().union(*(string_leaves(v) for v in tree.values())) if tree else set()
    if isinstance(tree, list):
        return set().union(*(string_leaves(v) for v in tree)) if tree else set()
    return set()
