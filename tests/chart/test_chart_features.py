"""What platform engineers expect of the chart: Ingress and Gateway API routes, the PrometheusRule
of docs/operations.md, a `helm test` pod, common labels and annotations, checksum roll-outs, a
soft topology spread, priority classes, extra env/volumes, service accounts, and install notes
that work with TLS on. Custom resources (Gateway API, Prometheus Operator) are checked
structurally: kubernetes-validate has no schema for them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chart.render import (
    COMPONENTS,
    GRPC_PORTS,
    RELEASE,
    REPO_ROOT,
    VALUE_SETS,
    notes,
    objects,
    of_kind,
    render,
    rendered_objects,
)

SETS = sorted(VALUE_SETS)


def by_name(objs: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in of_kind(objs, kind)}


def deployment(objs: Any, component: str) -> dict[str, Any]:
    return by_name(objs, "Deployment")[f"{RELEASE}-{component}"]


# --- Ingress and Gateway API --------------------------------------------------------------------


def test_ingress_for_the_webhook_and_the_grpc_apis() -> None:
    objs = rendered_objects("everything-on")
    services = by_name(objs, "Service")
    ingresses = by_name(objs, "Ingress")
    webhook = ingresses[f"{RELEASE}-intake-webhook"]["spec"]
    assert webhook["ingressClassName"] == "nginx"
    assert webhook["tls"] == [{"secretName": "webhook-tls", "hosts": ["aduan.example.go.id"]}]
    (rule,) = webhook["rules"]
    assert rule["host"] == "aduan.example.go.id"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/webhook/whatsapp"
    backend = path["backend"]["service"]
    assert backend["port"]["name"] in {
        p["name"] for p in services[backend["name"]]["spec"]["ports"]
    }
    assert backend == {"name": f"{RELEASE}-intake", "port": {"name": "http-webhook"}}

    grpc = ingresses[f"{RELEASE}-grpc"]
    # TLS to the backends when the services speak it.
    assert (
        grpc["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPCS"
    )
    (rule,) = grpc["spec"]["rules"]
    paths = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert paths == {"/aduan.v1.Intake": f"{RELEASE}-intake", "/aduan.v1.Query": f"{RELEASE}-query"}
    assert {p["pathType"] for p in rule["http"]["paths"]} == {"Prefix"}
    assert of_kind(rendered_objects("defaults"), "Ingress") == []


def _gateway_route_checks(route: dict[str, Any], kind: str) -> None:
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["kind"] == kind
    assert set(route["spec"]) == {"parentRefs", "hostnames", "rules"}
    assert route["spec"]["parentRefs"] == [
        {"name": "public", "namespace": "gateway", "sectionName": "https"}
    ]
    for rule in route["spec"]["rules"]:
        assert set(rule) == {"matches", "backendRefs"}
        for ref in rule["backendRefs"]:
            assert set(ref) == {"name", "port"}


def test_gateway_api_routes() -> None:
    objs = rendered_objects("everything-on")
    services = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]}
        for s in of_kind(objs, "Service")
    }
    # The webhook's; the desk's has its own test (tests/chart/test_chart_desk.py).
    (http,) = [r for r in of_kind(objs, "HTTPRoute") if r["metadata"]["name"].endswith("-webhook")]
    _gateway_route_checks(http, "HTTPRoute")
    assert http["spec"]["hostnames"] == ["aduan.example.go.id"]
    (rule,) = http["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/webhook/whatsapp"}}]
    assert rule["backendRefs"] == [{"name": f"{RELEASE}-intake", "port": 8081}]

    (grpc,) = of_kind(objs, "GRPCRoute")
    _gateway_route_checks(grpc, "GRPCRoute")
    routed = {}
    for rule in grpc["spec"]["rules"]:
        ((match,),) = [rule["matches"]]
        assert match["method"]["type"] == "Exact"
        ((ref,),) = [rule["backendRefs"]]
        assert ref["port"] in services[ref["name"]]
        routed[match["method"]["service"]] = ref
    assert routed == {
        f"aduan.v1.{c.title()}": {"name": f"{RELEASE}-{c}", "port": GRPC_PORTS[c]}
        for c in COMPONENTS
    }
    for value_set in ("defaults", "production"):
        assert not of_kind(rendered_objects(value_set), "HTTPRoute")
        assert not of_kind(rendered_objects(value_set), "GRPCRoute")


# --- PrometheusRule -----------------------------------------------------------------------------


def documented_alerts() -> set[str]:
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    table = text.split("## Alerts", 1)[1].split("##", 1)[0]
    return set(re.findall(r"^\| (\w+) \|", table, flags=re.MULTILINE)) - {"alert"}


def test_prometheus_rule_carries_the_documented_alerts() -> None:
    (rule,) = of_kind(rendered_objects("everything-on"), "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "prom"
    (group,) = rule["spec"]["groups"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert documented_alerts() <= set(alerts)
    assert len(documented_alerts()) >= 10
    for name, alert in alerts.items():
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}, name
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        assert re.fullmatch(r"\d+[smh]", alert.get("for", "0m")), name
        # Scoped to the release's namespace, and balanced PromQL braces.
        assert 'namespace="aduan"' in alert["expr"], name
        assert alert["expr"].count("{") == alert["expr"].count("}"), name
        assert "summary" in alert["annotations"]
    assert alerts["ConsumerLagging"]["expr"].endswith("> 500")
    assert alerts["ConsumerLaggingCritical"]["expr"].endswith("> 5000")
    assert of_kind(rendered_objects("defaults"), "PrometheusRule") == []


# --- helm test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", ["defaults", "kind", "everything-on"])
def test_helm_test_pod(value_set: str) -> None:
    objs = rendered_objects(value_set)
    (pod,) = of_kind(objs, "Pod")
    annotations = pod["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "test"
    assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    query = deployment(objs, "query")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == query["image"], "the test runs an image the chart ships"
    assert container["command"] == ["python", "-c"]
    script = container["args"][0]
    compile(script, "helm-test", "exec")  # valid Python
    assert 'HealthCheckRequest(service="readiness")' in script
    assert "reader.head(" in script
    env = {e["name"]: e for e in container["env"]}
    assert env["ADUAN_TEST_SERVICES"]["value"].split() == list(COMPONENTS)
    assert env["ADUAN_TEST_EVENTLOG"]["value"] == "intake"
    # Query's credentials: the same auth and TLS variables (and mounts) as the query service.
    query_env = {e["name"]: e for e in query["env"]}
    for name, var in env.items():
        if name.startswith(("ADUAN_JWT", "ADUAN_TLS", "ADUAN_AUTH")) or name.endswith("_ADDR"):
            assert query_env[name] == var, name
    assert {n for n in query_env if n.startswith(("ADUAN_JWT", "ADUAN_TLS"))} <= set(env)
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {
        m["mountPath"] for m in query["volumeMounts"] if m["mountPath"].startswith("/etc/aduan/")
    } - {"/etc/aduan/nats"} <= mounts


# --- Metadata, roll-outs, scheduling ------------------------------------------------------------


def test_common_labels_and_annotations_on_every_object() -> None:
    objs = rendered_objects("everything-on")
    assert len(objs) >= 30
    for obj in objs:
        meta = obj["metadata"]
        assert meta["labels"]["team"] == "hotline", (obj["kind"], meta["name"])
        assert meta["annotations"]["owner"] == "platform@example.go.id", (obj["kind"], meta["name"])
    for d in of_kind(objs, "Deployment"):
        template = d["spec"]["template"]["metadata"]
        assert template["labels"]["team"] == "hotline"
        assert template["annotations"]["owner"] == "platform@example.go.id"
        assert "team" not in d["spec"]["selector"]["matchLabels"]


def test_a_configmap_change_rolls_the_pods() -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        objs = objects(render(values), subcharts=False)
        out = {}
        for d in of_kind(objs, "Deployment"):
            for key, value in d["spec"]["template"]["metadata"].get("annotations", {}).items():
                if key.startswith("checksum/"):
                    out[f"{d['metadata']['name']}/{key}"] = value
        return out

    templates = {"notification": {"templates": {"enabled": True, "files": {"a.toml": "x = 1"}}}}
    before = checksums(templates)
    assert set(before) == {
        f"{RELEASE}-routing/checksum/routing-rules",
        f"{RELEASE}-notification/checksum/templates",
    }
    after = checksums(
        {"notification": {"templates": {"enabled": True, "files": {"a.toml": "x = 2"}}}}
    )
    assert (
        after[f"{RELEASE}-notification/checksum/templates"]
        != before[f"{RELEASE}-notification/checksum/templates"]
    )
    assert (
        after[f"{RELEASE}-routing/checksum/routing-rules"]
        == before[f"{RELEASE}-routing/checksum/routing-rules"]
    )


@pytest.mark.parametrize("value_set", ["defaults", "kind", "everything-on"])
def test_soft_topology_spread_by_default(value_set: str) -> None:
    for d in of_kind(rendered_objects(value_set), "Deployment"):
        spec = d["spec"]["template"]["spec"]
        constraints = spec["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == [
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        ]
        for constraint in constraints:
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
            assert (
                constraint["labelSelector"]["matchLabels"] == d["spec"]["selector"]["matchLabels"]
            )
    # A service's own constraints replace the default; the default can be switched off.
    production = deployment(rendered_objects("production"), "intake")["spec"]["template"]["spec"]
    assert len(production["topologySpreadConstraints"]) == 1
    off = objects(render({"topologySpread": {"enabled": False}}), subcharts=False)
    assert all(
        "topologySpreadConstraints" not in d["spec"]["template"]["spec"]
        for d in of_kind(off, "Deployment")
    )


def test_priority_class_extra_env_from_and_volumes_and_service_accounts() -> None:
    objs = rendered_objects("everything-on")
    intake = deployment(objs, "intake")["spec"]["template"]["spec"]
    routing = deployment(objs, "routing")["spec"]["template"]["spec"]
    assert intake["priorityClassName"] == "aduan-high"
    assert routing["priorityClassName"] == "aduan-normal"  # global.priorityClassName
    (container,) = intake["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": "intake-extra"}}]
    assert {"name": "rules", "configMap": {"name": "intake-text-rules"}} in intake["volumes"]
    assert {"name": "rules", "mountPath": "/etc/aduan/text", "readOnly": True} in container[
        "volumeMounts"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ADUAN_MAX_MESSAGE_BYTES"] == "8388608"  # not 8.388608e+06
    assert routing["serviceAccountName"] == "aduan-shared"
    accounts = by_name(objs, "ServiceAccount")
    assert f"{RELEASE}-routing" not in accounts
    assert (
        accounts[f"{RELEASE}-intake"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        == "arn:aws:iam::1:role/x"
    )


# --- Install notes ------------------------------------------------------------------------------


def test_notes_with_tls_use_the_health_port_and_certificates() -> None:
    text = notes(VALUE_SETS["everything-on"].values())
    assert "helm test aduan -n aduan" in text
    assert "port-forward deploy/aduan-intake 8086:grpc-health" in text
    assert 'grpcurl -plaintext -d \'{"service": "readiness"}\' 127.0.0.1:8086' in text
    assert "grpcurl -cacert ca.crt -cert client.crt -key client.key -authority" in text
    assert "secret aduan-tls -o jsonpath='{.data.ca\\.crt}'" in text
    assert '-plaintext -d \'{"service": "readiness"}\' 127.0.0.1:50051' not in text
    plain = notes()
    assert 'grpcurl -plaintext -d \'{"service": "readiness"}\' 127.0.0.1:50051' in plain
    assert 'HS256 tokens signed with the shared secret in Secret "aduan-jwt"' in plain
