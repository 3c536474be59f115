"""Pod security (the restricted Pod Security Standard for every pod, the NATS subchart's included),
network policies derived from the values, and a values schema that refuses unknown keys."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from chart.pss import pod_specs, restricted_violations
from chart.render import (
    CHART_DIR,
    COMPONENTS,
    RELEASE,
    VALUE_SETS,
    HelmError,
    merged_values,
    objects,
    of_kind,
    render,
    rendered_objects,
)

SETS = sorted(VALUE_SETS)
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())


# --- Restricted Pod Security Standard -----------------------------------------------------------


@pytest.mark.parametrize("value_set", SETS)
def test_every_pod_satisfies_the_restricted_pod_security_standard(value_set: str) -> None:
    objs = rendered_objects(value_set, subcharts=True)
    specs = dict(pod_specs(objs))
    # The services and the helm test pod, and the NATS servers where the subchart is on.
    assert len(specs) >= len(COMPONENTS) + 1
    if merged_values(VALUE_SETS[value_set].values())["nats"]["enabled"]:
        assert any(where.startswith("StatefulSet/") for where in specs), specs.keys()
    for where, spec in specs.items():
        assert restricted_violations(spec) == [], where


def _compliant() -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
                "ports": [{"containerPort": 80}],
            }
        ],
        "volumes": [{"name": "v", "emptyDir": {}}],
    }


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    node: Any = tree
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("hostNetwork", True),
        ("hostPID", True),
        ("hostIPC", True),
        ("volumes.0.hostPath", {"path": "/"}),
        ("volumes.0.nfs", {"server": "x", "path": "/"}),
        ("securityContext.runAsNonRoot", None),
        ("securityContext.runAsUser", 0),
        ("securityContext.seccompProfile.type", "Unconfined"),
        ("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}]),
        ("containers.0.securityContext.allowPrivilegeEscalation", None),
        ("containers.0.securityContext.privileged", True),
        ("containers.0.securityContext.capabilities.drop", ["NET_RAW"]),
        ("containers.0.securityContext.capabilities.add", ["SYS_ADMIN"]),
        ("containers.0.securityContext.runAsNonRoot", False),
        ("containers.0.securityContext.seccompProfile", {"type": "Unconfined"}),
        ("containers.0.securityContext.procMount", "Unmasked"),
        ("containers.0.ports.0.hostPort", 8080),
    ],
)
def test_the_restricted_check_refuses_each_violation(path: str, value: Any) -> None:
    spec = _compliant()
    assert restricted_violations(spec) == []
    _set(spec, path, value)
    assert restricted_violations(spec) != []


def test_openshift_mode_leaves_the_uid_to_the_platform() -> None:
    for where, spec in pod_specs(rendered_objects("openshift")):
        fixed = {"runAsUser", "runAsGroup", "fsGroup"} & set(spec["securityContext"])
        assert not fixed, where
        for container in spec["containers"]:
            assert not {"runAsUser", "runAsGroup"} & set(container["securityContext"]), where
            assert container["securityContext"]["runAsNonRoot"] is True


# --- Network policies ---------------------------------------------------------------------------


def _policies(value_set: str) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in of_kind(rendered_objects(value_set), "NetworkPolicy")}


def _egress(policy: dict[str, Any]) -> set[tuple[str, int]]:
    """(peer, port) pairs: an ipBlock's CIDR or a namespace name, with each port."""
    pairs = set()
    for rule in policy["spec"]["egress"]:
        for peer in rule.get("to", []):
            if "ipBlock" in peer:
                name = peer["ipBlock"]["cidr"]
            elif "namespaceSelector" in peer:
                name = "ns:" + str(
                    peer["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name")
                )
            else:
                name = "pods"
            pairs |= {(name, p["port"]) for p in rule.get("ports", [])}
    return pairs


def test_egress_follows_every_outbound_call_the_values_imply() -> None:
    """everything-on: the identity provider on the JWKS URL's port (8443), the WhatsApp Cloud
    API, the SMTP relay on smtpPort, the office webhook on its URL's port, the S3 endpoint's port,
    the OTel collector's namespace on 4317, DNS to kube-dns only."""
    policies = _policies("everything-on")
    for component in COMPONENTS:
        egress = _egress(policies[f"{RELEASE}-{component}"])
        expected = {("192.0.2.10/32", 8443), ("ns:observability", 4317), ("ns:kube-system", 53)}
        if component == "notification":
            expected |= {
                ("203.0.113.0/24", 443),
                ("198.51.100.25/32", 587),
                ("198.51.100.80/32", 8443),
            }
        if component == "intake":
            expected |= {("203.0.113.0/24", 443), ("192.0.2.20/32", 9000)}
        assert expected <= egress, component
        outside = {pair for pair in egress if pair[0][0].isdigit()}
        assert outside == {p for p in expected if p[0][0].isdigit()} | {
            ("192.0.2.99/32", 9999),  # networkPolicy.egress.extra
            ("10.20.0.0/16", 5432),  # networkPolicy.egress.postgres
        }
        dns = next(
            r
            for r in policies[f"{RELEASE}-{component}"]["spec"]["egress"]
            if r["ports"][0]["port"] == 53
        )
        assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"auth": {"jwksUrl": "https://idp.example/certs"}}, "identityProvider"),
        ({"global": {"otel": {"endpoint": "http://otel:4317"}}}, "otel"),
        ({"secrets": {"whatsapp": {"name": "wa"}}, "notification": {"enabled": False}}, "whatsapp"),
        (
            {"intake": {"config": {"media": {"store": "s3", "s3Bucket": "b"}}}},
            "mediaStore",
        ),
        (
            {"notification": {"config": {"channelMode": "live", "smtpHost": "smtp.example"}}},
            "smtp",
        ),
        (
            {
                "secrets": {"officeWebhook": {"name": "o"}},
                "notification": {
                    "config": {"channelMode": "live", "officeWebhookUrl": "https://o.example"}
                },
            },
            "officeWebhook",
        ),
    ],
)
def test_an_outbound_call_without_an_egress_destination_is_refused(
    values: dict[str, Any], key: str
) -> None:
    values = {**values, "networkPolicy": {"enabled": True}}
    with pytest.raises(HelmError, match=rf"networkPolicy\.egress\.{key}\.cidrs"):
        render(values)
    # Without network policies nothing is refused.
    render({**values, "networkPolicy": {"enabled": False}})


@pytest.mark.parametrize("value_set", ["production", "everything-on"])
def test_nats_servers_have_a_network_policy_of_their_own(value_set: str) -> None:
    objs = rendered_objects(value_set, subcharts=True)
    (statefulset,) = of_kind(objs, "StatefulSet")
    nats_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    policy = _policies(value_set)[f"{RELEASE}-nats"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= nats_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    # The release's default deny spares the NATS pods (they lack part-of), this one covers them.
    service_pods = [
        d["spec"]["template"]["metadata"]["labels"] for d in of_kind(objs, "Deployment")
    ]
    by_port = {rule["ports"][0]["port"]: rule for rule in policy["ingress"]}
    client = by_port[4222]["from"]
    assert client[0]["podSelector"]["matchLabels"]["app.kubernetes.io/part-of"] == "aduan"
    assert all(
        client[0]["podSelector"]["matchLabels"].items() <= labels.items() for labels in service_pods
    )
    monitor = by_port[8222]["from"][0]
    assert monitor["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    if value_set == "production":  # a 3-node cluster: routes between the servers
        routes = by_port[6222]["from"][0]["podSelector"]["matchLabels"]
        assert routes.items() <= nats_labels.items()
        assert any(
            r["ports"][0]["port"] == 6222 and r["to"][0]["podSelector"]["matchLabels"] == routes
            for r in policy["egress"]
        )
    else:  # the Prometheus exporter's port is open to the scrapers too
        assert {p["port"] for p in by_port[8222]["ports"]} == {8222, 7777}


def test_helm_test_pod_may_reach_the_services() -> None:
    policies = _policies("everything-on")
    objs = rendered_objects("everything-on")
    (pod,) = of_kind(objs, "Pod")
    spec = policies[f"{RELEASE}-test"]["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert {p["port"] for r in spec["egress"] for p in r["ports"]} >= {50051, 50052, 50053, 50054}
    # ... and the services admit it on their gRPC port (it carries the release's pod labels).
    for component in COMPONENTS:
        grpc_rule = policies[f"{RELEASE}-{component}"]["spec"]["ingress"][0]
        selector = grpc_rule["from"][0]["podSelector"]["matchLabels"]
        assert selector.items() <= pod["metadata"]["labels"].items()


# --- Values schema: no unknown key at any level the chart owns ----------------------------------

# Objects whose keys are free: Kubernetes objects passed through (validated by the API server),
# maps of labels/annotations/env, and the NATS subchart's values.
FREE_FORM = {
    "nats",
    "podSecurityContext",
    "containerSecurityContext",
    "requests",
    "limits",
    "affinity",
    "podSelector",
    "items",
}


def _open_objects(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            name = path.rsplit("/", 1)[-1]
            if node.get("additionalProperties") is not False and name not in FREE_FORM:
                found.append(path)
        for key, child in node.items():
            if key != "nats" or path:
                found += _open_objects(child, f"{path}/{key}")
    return found


def test_schema_closes_every_object_the_chart_owns() -> None:
    assert _open_objects(SCHEMA) == []


def _object_paths(values: Any, schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[Any]:
    """Paths of value maps whose schema lists their properties (closed objects)."""
    out = []
    if isinstance(values, dict) and "properties" in schema:
        out.append(path)
        for key, child in values.items():
            sub = schema["properties"].get(key)
            if sub and key not in FREE_FORM:
                out += _object_paths(child, sub, (*path, key))
    return out


def test_schema_refuses_an_unknown_key_at_every_level() -> None:
    values = merged_values(VALUE_SETS["everything-on"].values())
    paths = _object_paths(values, SCHEMA)
    assert len(paths) > 60
    validator = jsonschema.Draft7Validator(SCHEMA)
    for path in paths:
        bad = copy.deepcopy(values)
        node = bad
        for key in path:
            node = node[key]
        node["unknownKey"] = 1
        errors = list(validator.iter_errors(bad))
        assert errors, path


@pytest.mark.parametrize(
    "label", ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"]
)
def test_pod_labels_cannot_touch_the_selector(label: str) -> None:
    bad = {"query": {"podLabels": {label: "other"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(merged_values(bad))
    with pytest.raises(HelmError, match="podLabels"):
        render(bad)
    # Other labels are fine.
    objs = objects(render({"query": {"podLabels": {"tier": "read"}}}), subcharts=False)
    query = next(d for d in of_kind(objs, "Deployment") if d["metadata"]["name"].endswith("query"))
    assert query["spec"]["template"]["metadata"]["labels"]["tier"] == "read"
