"""charts/aduan rendered offline with the stock helm CLI over every shipped values file and more:
strict lint, values schema, Kubernetes schemas of the oldest supported and the newest shipped
version, and the conventions the platform relies on (selectors, probes,
resources, restricted pod security, secrets by reference only, mounted ConfigMaps that exist)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from chart.render import (
    CHART_DIR,
    COMPONENTS,
    CRD_KINDS,
    DESK_PORT,
    GRPC_PORTS,
    KUBE_VERSIONS,
    NAMESPACE,
    RELEASE,
    REPO_ROOT,
    VALUE_SETS,
    WORKLOADS,
    HelmError,
    containers,
    lint,
    merged_values,
    notes,
    objects,
    of_kind,
    render,
    render_helm4,
    rendered_objects,
    string_leaves,
    validate_k8s,
)

from aduan_desk.settings import PEERS as DESK_PEERS

SETS = sorted(VALUE_SETS)
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


# --- Chart metadata and lint -------------------------------------------------------------------


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["version"] == "0.1.0"
    assert chart["appVersion"] == "0.1.0"
    (nats,) = chart["dependencies"]
    assert nats["name"] == "nats"
    assert nats["condition"] == "nats.enabled"
    # Vendored: the lock pins the subchart, and its package is committed beside the chart.
    assert nats["repository"] == "file://../vendor/nats"
    lock = yaml.safe_load((CHART_DIR / "Chart.lock").read_text())
    assert [(d["name"], d["version"]) for d in lock["dependencies"]] == [("nats", nats["version"])]
    assert (CHART_DIR / "charts" / f"nats-{nats['version']}.tgz").is_file()
    # Off by default: production points the services at a NATS cluster of its own.
    assert yaml.safe_load((CHART_DIR / "values.yaml").read_text())["nats"]["enabled"] is False


def test_packaged_nats_subchart_is_the_vendored_source() -> None:
    """charts/aduan/charts/nats-*.tgz holds exactly charts/vendor/nats (with its licence): a
    change to one without `helm dependency update charts/aduan` fails here."""
    vendored = REPO_ROOT / "charts" / "vendor" / "nats"
    version = yaml.safe_load((vendored / "Chart.yaml").read_text())["version"]
    with tarfile.open(CHART_DIR / "charts" / f"nats-{version}.tgz") as package:
        packaged = {
            Path(member.name).relative_to("nats").as_posix(): package.extractfile(member).read()  # type: ignore[union-attr]
            for member in package.getmembers()
            if member.isfile()
        }
    on_disk = {
        path.relative_to(vendored).as_posix(): path.read_bytes()
        for path in vendored.rglob("*")
        if path.is_file()
    }
    # `helm package` re-serialises Chart.yaml; every other file is byte for byte the source.
    assert yaml.safe_load(packaged.pop("Chart.yaml")) == yaml.safe_load(on_disk.pop("Chart.yaml"))
    assert packaged == on_disk
    assert b"Apache License" in packaged["LICENSE"]


def test_every_shipped_values_file_is_tested() -> None:
    shipped = {"values-kind.yaml", *(f"examples/{p.name}" for p in CHART_DIR.glob("examples/*"))}
    tested = {name for vs in VALUE_SETS.values() for name in vs.files}
    assert shipped <= tested, shipped - tested


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", SETS)
def test_lint_strict(value_set: str, kube_version: str) -> None:
    """`helm lint --strict` passes with nothing filtered (it exits non-zero on any warning)."""
    report = lint(VALUE_SETS[value_set].values(), kube_version)
    assert "0 chart(s) failed" in report
    assert "[WARNING]" not in report
    assert "[ERROR]" not in report


@pytest.mark.parametrize("value_set", SETS)
def test_helm4_renders_the_same(value_set: str) -> None:
    """Helm 4's engine (helm-python-sdk) renders every value set to the same objects as the
    Helm 3 CLI, so either major version installs the chart."""
    values = VALUE_SETS[value_set].values()
    assert objects(render_helm4(values)) == objects(render(values))


# --- values.schema.json ------------------------------------------------------------------------


def test_values_schema_is_valid_draft07() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["additionalProperties"] is False


@pytest.mark.parametrize("value_set", SETS)
def test_value_sets_satisfy_schema(value_set: str) -> None:
    values = merged_values(VALUE_SETS[value_set].values())
    jsonschema.Draft7Validator(SCHEMA).validate(values)


@pytest.mark.parametrize(
    ("bad_values", "fragment"),
    [
        ({"intake": {"replicass": 2}}, "replicass"),
        ({"networkPolicyy": {"enabled": True}}, "networkPolicyy"),
        ({"global": {"image": {"pullPolicy": "Sometimes"}}}, "pullPolicy"),
        ({"routing": {"replicas": -1}}, "replicas"),
        ({"query": {"grpcPort": 70000}}, "grpcPort"),
        ({"intake": {"image": {"digest": "latest"}}}, "digest"),
        ({"notification": {"config": {"channelMode": "loud"}}}, "channelMode"),
        ({"intake": {"resources": {"requests": {"memory": None}}}}, "memory"),
    ],
)
def test_schema_rejects_typos_and_bad_values(bad_values: dict[str, Any], fragment: str) -> None:
    values = merged_values(bad_values)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(values)
    # Helm itself refuses to render (and so to install) such values.
    with pytest.raises(HelmError, match=fragment):
        render(bad_values)


# --- Kubernetes schemas ------------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", SETS)
def test_objects_match_kubernetes_schemas(value_set: str, kube_version: str) -> None:
    objs = rendered_objects(value_set, kube_version, subcharts=True)
    assert objs
    for obj in objs:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            # kubernetes-validate ships core schemas only; custom resources (Prometheus Operator,
            # Gateway API) are checked structurally by their own tests.
            continue
        validate_k8s(obj, kube_version)


def test_kubernetes_validation_rejects_a_misspelled_field() -> None:
    deployment = copy.deepcopy(of_kind(rendered_objects("defaults"), "Deployment")[0])
    validate_k8s(deployment)
    pod_spec(deployment)["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicyy"):
        validate_k8s(deployment)


def test_kubernetes_validation_rejects_a_wrongly_typed_field() -> None:
    service = copy.deepcopy(of_kind(rendered_objects("defaults"), "Service")[0])
    service["spec"]["ports"][0]["port"] = "fifty"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s(service)


# --- Semantics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", SETS)
def test_names_and_labels(value_set: str) -> None:
    required = {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by",
        "helm.sh/chart",
    }
    seen: set[tuple[str, str]] = set()
    for obj in rendered_objects(value_set):
        meta = obj["metadata"]
        assert DNS1123.match(meta["name"]), meta["name"]
        assert len(meta["name"]) <= 63, meta["name"]
        assert meta["namespace"] == NAMESPACE
        assert required <= set(meta["labels"]), (obj["kind"], meta["name"])
        key = (obj["kind"], meta["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)


@pytest.mark.parametrize("value_set", SETS)
def test_one_deployment_service_and_account_per_component(value_set: str) -> None:
    objs = rendered_objects(value_set)
    values = merged_values(VALUE_SETS[value_set].values())
    # The four services always; the desk where desk.enabled.
    enabled = sorted(c for c in WORKLOADS if values[c]["enabled"])
    assert set(COMPONENTS) <= set(enabled)
    for kind in ("Deployment", "Service"):
        components = sorted(
            o["metadata"]["labels"]["app.kubernetes.io/component"] for o in of_kind(objs, kind)
        )
        assert components == enabled, kind
    # Each workload runs as its own account unless serviceAccount.create is false.
    own = sorted(c for c in enabled if values[c]["serviceAccount"]["create"])
    accounts = of_kind(objs, "ServiceAccount")
    assert sorted(a["metadata"]["labels"]["app.kubernetes.io/component"] for a in accounts) == own
    for account in accounts:
        assert account["automountServiceAccountToken"] is False
    for deployment in of_kind(objs, "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        account = values[component]["serviceAccount"]
        expected = (
            account["name"] or f"{RELEASE}-{component}"
            if account["create"]
            else account["name"] or "default"
        )
        assert pod_spec(deployment)["serviceAccountName"] == expected


@pytest.mark.parametrize("value_set", SETS)
def test_selectors_match_pod_labels(value_set: str) -> None:
    objs = rendered_objects(value_set)
    pod_labels = []
    for deployment in of_kind(objs, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
        pod_labels.append(labels)
    for kind in ("Service",):
        for obj in of_kind(objs, kind):
            selector = obj["spec"]["selector"]
            matches = [labels for labels in pod_labels if selector.items() <= labels.items()]
            assert len(matches) == 1, (kind, obj["metadata"]["name"])
    for obj in of_kind(objs, "PodDisruptionBudget") + of_kind(objs, "ServiceMonitor"):
        selector = obj["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= labels.items() for labels in pod_labels)
    deployments = {d["metadata"]["name"] for d in of_kind(objs, "Deployment")}
    for hpa in of_kind(objs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("value_set", SETS)
def test_service_ports(value_set: str) -> None:
    for service in of_kind(rendered_objects(value_set), "Service"):
        component = service["metadata"]["labels"]["app.kubernetes.io/component"]
        ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        if component == "desk":
            # HTTP only: the desk serves no gRPC.
            assert ports == {"http": DESK_PORT, "metrics": 9464}
            continue
        assert ports["grpc"] == GRPC_PORTS[component]
        assert ports["metrics"] == 9464
        assert ("http-webhook" in ports) == (component == "intake")
        if component == "intake":
            assert ports["http-webhook"] == 8081


@pytest.mark.parametrize("value_set", SETS)
def test_containers_have_probes_resources_and_restricted_security(value_set: str) -> None:
    for deployment in of_kind(rendered_objects(value_set), "Deployment"):
        spec = pod_spec(deployment)
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True
        if value_set == "openshift":
            # OpenShift assigns the namespace's random UID: nothing fixed is rendered.
            assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(pod_security)
        else:
            assert pod_security["runAsUser"] == 10001
            assert pod_security["fsGroup"] == 10001
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        mounts_tmp = False
        desk = deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "desk"
        for container in containers(spec):
            env = {e["name"]: e for e in container["env"]}
            assert env["TMPDIR"]["value"] == "/tmp"
            if desk:
                # The desk's probes are HTTP (tests/chart/test_chart_desk.py checks them).
                assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
                assert env["ADUAN_DESK_PORT"]["value"] == str(DESK_PORT)
            else:
                grpc_port = next(
                    p["containerPort"] for p in container["ports"] if p["name"] == "grpc"
                )
                # Behind TLS the kubelet probes the plaintext health-only port.
                probed = next(
                    (p["containerPort"] for p in container["ports"] if p["name"] == "grpc-health"),
                    grpc_port,
                )
                for probe in ("readiness", "liveness", "startup"):
                    # One health service name per probe, on the probe port.
                    assert container[f"{probe}Probe"]["grpc"] == {"port": probed, "service": probe}
                assert env["ADUAN_GRPC_PORT"]["value"] == str(grpc_port)
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][part]), part
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            assert "add" not in security["capabilities"]
            assert security.get("privileged", False) is False
            mounts_tmp = mounts_tmp or any(
                m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])
            )
        assert mounts_tmp
        tmp = next(v for v in spec["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp


@pytest.mark.parametrize("value_set", SETS)
def test_peer_addresses_point_at_services(value_set: str) -> None:
    objs = rendered_objects(value_set)
    services = {
        s["metadata"]["name"]: p["port"]
        for s in of_kind(objs, "Service")
        for p in s["spec"]["ports"]
        if p["name"] == "grpc"
    }
    for deployment in of_kind(objs, "Deployment"):
        env = {e["name"]: e.get("value") for e in pod_spec(deployment)["containers"][0]["env"]}
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        # The desk is given the peers it calls (tests/chart/test_chart_desk.py), the services all.
        peers = DESK_PEERS if component == "desk" else COMPONENTS
        for peer in peers:
            host, port = env[f"ADUAN_{peer.upper()}_ADDR"].split(":")
            assert services[host] == int(port)


@pytest.mark.parametrize("value_set", SETS)
def test_secrets_only_by_reference(value_set: str) -> None:
    values = merged_values(VALUE_SETS[value_set].values())
    supplied = string_leaves(values)
    objs = rendered_objects(value_set)
    assert of_kind(objs, "Secret") == [], "the chart never creates a Secret"
    for obj in objs:
        assert not (obj["kind"] == "Secret" and ("data" in obj or "stringData" in obj))
    for deployment in of_kind(objs, "Deployment"):
        spec = pod_spec(deployment)
        for container in containers(spec):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in supplied, ref
                    assert ref["key"] in supplied, ref
            for source in container.get("envFrom", []):
                assert "secretRef" not in source
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in supplied


def test_store_dsn_comes_from_the_store_secret() -> None:
    for deployment in of_kind(rendered_objects("defaults"), "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        env = {e["name"]: e for e in pod_spec(deployment)["containers"][0]["env"]}
        ref = env["ADUAN_STORE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "aduan-store", "key": f"{component}-dsn"}


def test_embedded_sqlite_for_kind() -> None:
    for deployment in of_kind(rendered_objects("kind"), "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        spec = pod_spec(deployment)
        if component == "desk":
            # No store of its own: no SQLite, no data volume.
            assert not any(v["name"] == "data" for v in spec["volumes"])
            assert "ADUAN_STORE_URL" not in {e["name"] for e in spec["containers"][0]["env"]}
            continue
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["ADUAN_STORE_URL"]["value"] == f"sqlite:////data/{component}.sqlite"
        assert any(v["name"] == "data" and "emptyDir" in v for v in spec["volumes"])
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_embedded_sqlite_refuses_more_than_one_replica() -> None:
    with pytest.raises(HelmError, match="embeddedSqlite"):
        render({"store": {"embeddedSqlite": True}, "query": {"replicas": 2}})


@pytest.mark.parametrize("value_set", SETS)
def test_mounted_configmaps_exist(value_set: str) -> None:
    objs = rendered_objects(value_set)
    values = merged_values(VALUE_SETS[value_set].values())
    configmaps = {c["metadata"]["name"]: c for c in of_kind(objs, "ConfigMap")}
    for deployment in of_kind(objs, "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        # extraVolumes name the user's own ConfigMaps; the chart's must be rendered.
        extra = {v["name"] for v in values[component]["extraVolumes"]}
        spec = pod_spec(deployment)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for volume in volumes.values():
            if "configMap" in volume and volume["name"] not in extra:
                assert volume["configMap"]["name"] in configmaps
        for container in containers(spec):
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert ref["name"] in configmaps


def test_routing_rules_configmap_is_a_rule_set() -> None:
    objs = rendered_objects("defaults")
    (configmap,) = [
        c for c in of_kind(objs, "ConfigMap") if c["metadata"]["name"] == f"{RELEASE}-routing-rules"
    ]
    rules = yaml.safe_load(configmap["data"]["routing-rules.yaml"])
    assert isinstance(rules["version"], str)
    assert rules["rules"]
    routing = next(
        d for d in of_kind(objs, "Deployment") if d["metadata"]["name"] == f"{RELEASE}-routing"
    )
    container = pod_spec(routing)["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "routing-rules")
    assert env["ADUAN_ROUTING_RULES_FILE"] == f"{mount['mountPath']}/routing-rules.yaml"


def test_notification_templates_mounted_when_enabled() -> None:
    objs = rendered_objects("everything-on")
    (configmap,) = [
        c
        for c in of_kind(objs, "ConfigMap")
        if c["metadata"]["name"].endswith("notification-templates")
    ]
    assert "status_reply.toml" in configmap["data"]
    notification = next(
        d for d in of_kind(objs, "Deployment") if d["metadata"]["name"].endswith("notification")
    )
    env = {e["name"]: e.get("value") for e in pod_spec(notification)["containers"][0]["env"]}
    assert env["ADUAN_TEMPLATES_DIR"] == "/etc/aduan/templates"


def test_nats_url() -> None:
    def nats_url(value_set: str) -> str:
        deployment = of_kind(rendered_objects(value_set), "Deployment")[0]
        env = {e["name"]: e.get("value") for e in pod_spec(deployment)["containers"][0]["env"]}
        return str(env["ADUAN_NATS_URL"])

    assert nats_url("kind") == f"nats://{RELEASE}-nats:4222"
    assert nats_url("production") == f"nats://{RELEASE}-nats:4222"
    assert nats_url("external-nats") == "nats://nats.messaging.svc.cluster.local:4222"


def test_production_has_hpa_pdb_and_network_policies() -> None:
    objs = rendered_objects("production")
    # The four services and the desk.
    assert len(of_kind(objs, "HorizontalPodAutoscaler")) == len(WORKLOADS)
    assert len(of_kind(objs, "PodDisruptionBudget")) == len(WORKLOADS)
    for deployment in of_kind(objs, "Deployment"):
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    policies = {p["metadata"]["name"]: p for p in of_kind(objs, "NetworkPolicy")}
    deny = policies[f"{RELEASE}-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    for component in COMPONENTS:
        spec = policies[f"{RELEASE}-{component}"]["spec"]
        egress_ports = {
            (p["port"], p.get("protocol")) for rule in spec["egress"] for p in rule.get("ports", [])
        }
        assert {(53, "UDP"), (53, "TCP"), (4222, "TCP"), (5432, "TCP")} <= egress_ports
        assert (GRPC_PORTS["query"], "TCP") in egress_ports
        ingress_ports = {p["port"] for rule in spec["ingress"] for p in rule["ports"]}
        assert "grpc" in ingress_ports
        assert "metrics" in ingress_ports
        assert ("http-webhook" in ingress_ports) == (component == "intake")
        outside = {
            (peer["ipBlock"]["cidr"], p["port"])
            for rule in spec["egress"]
            for peer in rule.get("to", [])
            if "ipBlock" in peer
            for p in rule["ports"]
        }
        # Every service fetches the identity provider's keys; notification sends through
        # WhatsApp and SMTP; intake downloads WhatsApp media into the S3 bucket.
        expected = {("192.0.2.10/32", 443)}
        if component == "notification":
            expected |= {("203.0.113.0/24", 443), ("198.51.100.25/32", 587)}
        if component == "intake":
            expected |= {("203.0.113.0/24", 443), ("192.0.2.20/32", 443)}
        assert outside == expected, component


def test_network_policy_default_deny_spares_the_nats_subchart() -> None:
    objs = rendered_objects("production")
    deny = next(
        p for p in of_kind(objs, "NetworkPolicy") if p["metadata"]["name"].endswith("default-deny")
    )
    # The NATS subchart's pods share the instance label but not part-of.
    assert deny["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/part-of"] == "aduan"


def test_service_monitors() -> None:
    objs = rendered_objects("everything-on")
    monitors = of_kind(objs, "ServiceMonitor")
    # The four services and the desk (everything-on enables it).
    assert len(monitors) == len(WORKLOADS)
    services = of_kind(objs, "Service")
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert set(monitor["spec"]) == {"selector", "namespaceSelector", "endpoints"}
        assert monitor["metadata"]["labels"]["release"] == "prom"
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == "metrics"
        selector = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert "metrics" in {p["name"] for p in service["spec"]["ports"]}
    assert of_kind(rendered_objects("defaults"), "ServiceMonitor") == []


def test_image_references() -> None:
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: pod_spec(d)["containers"][0]
        for d in of_kind(rendered_objects("defaults"), "Deployment")
    }
    assert deployments["intake"]["image"] == "aduan-intake:0.1.0"
    assert deployments["intake"]["imagePullPolicy"] == "IfNotPresent"
    production = of_kind(rendered_objects("production"), "Deployment")[0]
    assert first_image(production).startswith("registry.example.org/aduan/aduan-")
    pinned = next(
        d
        for d in of_kind(rendered_objects("everything-on"), "Deployment")
        if d["metadata"]["name"].endswith("intake")
    )
    assert first_image(pinned) == "aduan-intake@sha256:" + "a" * 64


def first_image(deployment: dict[str, Any]) -> str:
    return str(pod_spec(deployment)["containers"][0]["image"])


def test_notes_render() -> None:
    text = notes()
    assert "port-forward svc/aduan-intake 50051:grpc" in text
    assert "grpc.health.v1.Health/Check" in text


def test_tls_and_service_identity_are_mounted_from_their_secrets() -> None:
    for deployment in of_kind(rendered_objects("tls-and-identity"), "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        spec = pod_spec(deployment)
        (container,) = spec["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["ADUAN_TLS_CERT"] == "/etc/aduan/tls/tls.crt"
        assert env["ADUAN_TLS_KEY"] == "/etc/aduan/tls/tls.key"
        assert env["ADUAN_TLS_CA"] == "/etc/aduan/tls/ca.crt"
        assert env["ADUAN_TLS_CLIENT_AUTH"] == "require"
        assert env["ADUAN_HEALTH_PORT"] == "8086"
        assert env["ADUAN_JWT_SIGNING_KEY_FILE"] == "/etc/aduan/identity/key.pem"
        assert env["ADUAN_JWT_KID"] == (
            "query-2026" if component == "query" else f"aduan-{component}"
        )
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["tls"]["mountPath"] == "/etc/aduan/tls"
        assert mounts["identity"]["mountPath"] == "/etc/aduan/identity"
        assert all(m["readOnly"] for m in (mounts["tls"], mounts["identity"]))
        volumes = {v["name"]: v for v in spec["volumes"]}
        expected = "aduan-intake-tls" if component == "intake" else "aduan-tls"
        assert volumes["tls"]["secret"]["secretName"] == expected
        assert {i["path"] for i in volumes["tls"]["secret"]["items"]} == {
            "tls.crt",
            "tls.key",
            "ca.crt",
        }
        identity = volumes["identity"]["secret"]
        assert identity["secretName"] == "aduan-identity"
        assert identity["items"] == [
            {"key": f"{component}.pem", "path": "key.pem"},
            {"key": "jwks.json", "path": "jwks.json"},
        ]


def test_tls_without_a_secret_is_refused() -> None:
    with pytest.raises(Exception, match=r"tls\.secretName"):
        render({"tls": {"enabled": True}})


def intake_env(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    deployment = next(
        d
        for d in of_kind(objects(render(values)), "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "intake"
    )
    return {e["name"]: e for e in pod_spec(deployment)["containers"][0]["env"]}


def test_intake_gets_the_answer_time_the_media_store_and_the_token_for_media() -> None:
    env = intake_env({"secrets": {"whatsapp": {"name": "wa"}}, "notification": {"enabled": False}})
    assert env["ADUAN_WHATSAPP_ANSWER_SECONDS"]["value"] == "1800"
    assert env["ADUAN_MEDIA_STORE"]["value"] == "local"
    assert env["ADUAN_WHATSAPP_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "wa",
        "key": "token",
    }
    bucket = {
        "store": "s3",
        "s3Bucket": "aduan-media",
        "s3Endpoint": "https://s3.example.internal",
        "s3CredentialsSecret": "media-s3",
    }
    env = intake_env({"intake": {"config": {"media": bucket}}})
    assert env["ADUAN_MEDIA_S3_BUCKET"]["value"] == "aduan-media"
    assert (
        env["ADUAN_MEDIA_S3_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "media-s3"
    )


def test_an_s3_media_store_without_a_bucket_is_refused_at_render_time() -> None:
    with pytest.raises(HelmError, match="s3Bucket is required"):
        render({"intake": {"config": {"media": {"store": "s3"}}}})


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML and Helm keep the
    last one silently, so half of a section disappears)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(key, deep=True) for key, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {duplicates}", node.start_mark
        )
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _unique_mapping,  # type: ignore[arg-type]
)


def test_shipped_values_files_give_no_key_twice() -> None:
    shipped = [CHART_DIR / "values.yaml", CHART_DIR / "values-kind.yaml"]
    shipped += sorted(CHART_DIR.glob("examples/*.yaml"))
    for path in shipped:
        yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    with pytest.raises(yaml.constructor.ConstructorError, match="container"):
        yaml.load("nats:\n  container: {a: 1}\n  container: {b: 2}\n", Loader=_UniqueKeyLoader)


def test_production_nats_servers_get_the_password_their_config_names() -> None:
    """The example's NATS config reads $ADUAN_NATS_PASSWORD: the server container must have it."""
    (statefulset,) = of_kind(rendered_objects("production", subcharts=True), "StatefulSet")
    (nats,) = [c for c in pod_spec(statefulset)["containers"] if c["name"] == "nats"]
    env = {e["name"]: e for e in nats.get("env", [])}
    assert env["ADUAN_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "aduan-nats",
        "key": "password",
    }


def services(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services' Deployments (the desk has no identity of its own)."""
    return [
        d
        for d in deployments
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in COMPONENTS
    ]


def test_service_identity_brings_the_jwks_its_peers_trust() -> None:
    deployments = services(of_kind(rendered_objects("production"), "Deployment"))
    assert len(deployments) == len(COMPONENTS)
    for deployment in deployments:
        spec = pod_spec(deployment)
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        assert env["ADUAN_JWT_SIGNING_KEY_FILE"] == "/etc/aduan/identity/key.pem"
        assert env["ADUAN_JWT_JWKS_FILE"] == "/etc/aduan/identity/jwks.json"
        (identity,) = [v for v in spec["volumes"] if v["name"] == "identity"]
        assert {i["path"] for i in identity["secret"]["items"]} == {"key.pem", "jwks.json"}
    without = {"secrets": {"serviceIdentity": {"jwksKey": ""}}}
    values = VALUE_SETS["production"].values()
    values["secrets"]["serviceIdentity"]["jwksKey"] = without["secrets"]["serviceIdentity"][
        "jwksKey"
    ]
    for deployment in of_kind(objects(render(values), subcharts=False), "Deployment"):
        env_names = {e["name"] for e in pod_spec(deployment)["containers"][0]["env"]}
        assert "ADUAN_JWT_JWKS_FILE" not in env_names


SHIPPED_SETS = ("defaults", "kind", "production", "external-nats", "cloudnativepg")


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", SHIPPED_SETS)
def test_stock_kubernetes_validate_cli_passes(
    value_set: str, kube_version: str, tmp_path: Path
) -> None:
    """The stock `kubernetes-validate --strict` CLI on `helm template`'s output, as a platform
    engineer would run it. It exits 0; its only warnings are for custom resources it ships no
    schema for, which the structural tests check instead."""
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "\n---\n".join(
            yaml.safe_dump(o) for o in rendered_objects(value_set, kube_version, subcharts=True)
        )
    )
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("kubernetes-validate")),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            f"{kube_version}.0",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for line in (done.stdout + done.stderr).splitlines():
        match = re.match(
            r"WARN .* Couldn't find schema for kind (\S+) with api version (\S+) ", line
        )
        assert match, line
        assert (match.group(2), match.group(1)) in CRD_KINDS, line
