"""The desk in charts/aduan (values `desk:`, off by default), rendered offline with the stock helm
CLI like the services: strict lint, strict Kubernetes schemas, the restricted Pod Security
Standard, the HTTP probes, Service, Ingress, HTTPRoute, NetworkPolicy (its own, and the services'
admitting it), HPA, PDB, ServiceMonitor, the render-time refusals with their exact messages, and
the rendered environment read by the desk's own settings reader (DeskSettings.from_env), which
raises SettingsError exactly where the desk would refuse to start."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart.pss import restricted_violations
from chart.render import (
    CHART_DIR,
    CRD_KINDS,
    DESK_PORT,
    GRPC_PORTS,
    KUBE_VERSIONS,
    RELEASE,
    VALUE_SETS,
    HelmError,
    deep_merge,
    lint,
    merged_values,
    notes,
    objects,
    of_kind,
    render,
    rendered_objects,
    validate_k8s,
)

from aduan.core.settings import SettingsError
from aduan.service.auth import DEV_SECRET
from aduan_desk.settings import PEERS, DeskSettings

STAND_IN = "s" * 48  # what a Secret holds: long enough for the 32-character minimums
DESK = f"{RELEASE}-desk"
DESK_LABELS = {
    "app.kubernetes.io/name": "aduan",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "desk",
}

# The least a production desk needs (with the development sign-in the desk still requires).
MINIMAL: dict[str, Any] = {
    "auth": {"dev": True},
    "secrets": {"jwt": {"name": "aduan-jwt"}},
    "desk": {
        "enabled": True,
        "publicUrl": "https://desk.example.go.id",
        "sessionSecret": {"existingSecret": "aduan-desk"},
    },
}
# Production sign-in: OpenID Connect at the identity provider whose JWKS the services trust.
IDP = "https://sso.example.go.id/realms/atrbpn"
OIDC: dict[str, Any] = {
    "auth": {
        "jwksUrl": f"{IDP}/protocol/openid-connect/certs",
        "issuer": IDP,
        "audience": "aduan",
    },
    "secrets": {"jwt": {"name": ""}, "serviceIdentity": {"name": "aduan-identity"}},
    "desk": {
        "enabled": True,
        "publicUrl": "https://desk.example.go.id",
        "sessionSecret": {"existingSecret": "aduan-desk"},
        "oidc": {
            "issuer": IDP,
            "clientId": "aduan-desk",
            "clientSecret": {"existingSecret": "aduan-desk-oidc", "key": "secret"},
            "scopes": "openid profile email",
        },
    },
}
# The value sets with the desk on: shipped ones and the chart tests' own.
DESK_SETS: dict[str, dict[str, Any]] = {
    "kind": VALUE_SETS["kind"].values(),
    "production": VALUE_SETS["production"].values(),
    "everything-on": VALUE_SETS["everything-on"].values(),
    "minimal": MINIMAL,
    "oidc": OIDC,
    "tls-and-identity": deep_merge(VALUE_SETS["tls-and-identity"].values(), MINIMAL),
}


def desk_objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    objs = objects(render(values), subcharts=False)
    return [o for o in objs if o["metadata"]["labels"].get("app.kubernetes.io/component") == "desk"]


def one(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == DESK]
    return obj


def desk_container(values: dict[str, Any]) -> dict[str, Any]:
    deployment = one(desk_objects(values), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The environment the container would see (Secret values stood in for)."""
    env: dict[str, str] = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif "secretKeyRef" in var.get("valueFrom", {}):
            env[var["name"]] = STAND_IN
        else:
            env[var["name"]] = "10.0.0.1"  # fieldRef and the like
    return env


def desk_settings(values: dict[str, Any]) -> DeskSettings:
    """The desk's own start-up reading of its rendered environment. A secret it reads from a
    file at start (ADUAN_*_FILE naming an item of a mounted Secret) is such a file holding a
    stand-in value, under a temporary directory instead of the mount path."""
    deployment = one(desk_objects(values), "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = container_env(container)
    volumes = {v["name"]: v for v in spec["volumes"]}
    with tempfile.TemporaryDirectory(prefix="aduan-desk-") as root:
        for mount in container["volumeMounts"]:
            secret = volumes[mount["name"]].get("secret")
            for item in (secret or {}).get("items", []):
                path = f"{mount['mountPath']}/{item['path']}"
                local = Path(root) / path.lstrip("/")
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_text(STAND_IN)
                env = {
                    k: (str(local) if v == path and k.endswith("_FILE") else v)
                    for k, v in env.items()
                }
        return DeskSettings.from_env(env)


# --- Off by default, lint, schemas, pod security ----------------------------------------------


def test_the_desk_is_off_by_default() -> None:
    assert yaml.safe_load((CHART_DIR / "values.yaml").read_text())["desk"]["enabled"] is False
    assert desk_objects({}) == []
    assert "desk" not in notes()


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", sorted(DESK_SETS))
def test_lint_strict_and_kubernetes_schemas(value_set: str, kube_version: str) -> None:
    values = DESK_SETS[value_set]
    report = lint(values, kube_version)
    assert "0 chart(s) failed" in report
    assert "[WARNING]" not in report
    assert "[ERROR]" not in report
    objs = objects(render(values, kube_version), subcharts=False)
    desk = [o for o in objs if o["metadata"]["labels"].get("app.kubernetes.io/component") == "desk"]
    assert {"ServiceAccount", "Service", "Deployment"} <= {o["kind"] for o in desk}
    for obj in desk:
        if (obj["apiVersion"], obj["kind"]) not in CRD_KINDS:
            validate_k8s(obj, kube_version)


@pytest.mark.parametrize("value_set", sorted(DESK_SETS))
def test_the_desk_pod_satisfies_the_restricted_pod_security_standard(value_set: str) -> None:
    deployment = one(desk_objects(DESK_SETS[value_set]), "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert restricted_violations(spec) == []
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_the_desk_schema_is_closed() -> None:
    with pytest.raises(HelmError, match="publicUrll"):
        render({"desk": {"publicUrll": "https://x"}})
    with pytest.raises(HelmError, match="language"):
        render(deep_merge(MINIMAL, {"desk": {"language": "fr"}}))
    with pytest.raises(HelmError, match="hostss"):
        render({"desk": {"ingress": {"hostss": []}}})


# --- The Deployment and its environment ----------------------------------------------------------


def test_deployment_serves_http_with_the_desk_probes() -> None:
    values = VALUE_SETS["kind"].values()
    container = desk_container(values)
    assert container["image"] == "aduan-desk:0.1.0"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": DESK_PORT,
        "metrics": 9464,
    }
    timings = merged_values(values)["probes"]
    for probe, path in (
        ("startup", "/healthz"),
        ("readiness", "/readyz"),
        ("liveness", "/healthz"),
    ):
        spec = container[f"{probe}Probe"]
        assert spec["httpGet"] == {"path": path, "port": "http"}
        for key in ("periodSeconds", "failureThreshold", "timeoutSeconds"):
            assert spec[key] == timings[probe][key]
    env = container_env(container)
    # No store, NATS or service identity: the desk only calls the services.
    assert not {"ADUAN_STORE_URL", "ADUAN_NATS_URL", "ADUAN_JWT_SIGNING_KEY_FILE"} & set(env)
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


@pytest.mark.parametrize("value_set", sorted(DESK_SETS))
def test_the_rendered_environment_passes_the_desks_own_settings_reader(value_set: str) -> None:
    values = DESK_SETS[value_set]
    settings = desk_settings(values)
    desk = merged_values(values)["desk"]
    assert settings.host == "0.0.0.0"
    assert settings.port == DESK_PORT
    assert settings.metrics_port == 9464
    assert settings.public_url == desk["publicUrl"]
    assert settings.timezone == desk["timezone"]
    assert settings.language == desk["language"]
    # OpenID Connect where the values configure it, else the development sign-in.
    assert settings.oidc.enabled == bool(desk["oidc"]["issuer"])
    assert settings.dev_sign_in != settings.oidc.enabled
    assert settings.peers == {p: f"{RELEASE}-{p}:{GRPC_PORTS[p]}" for p in PEERS}
    assert settings.secure_cookies == desk["publicUrl"].startswith("https://")


def test_the_desk_is_given_exactly_the_peers_it_calls() -> None:
    env = container_env(desk_container(MINIMAL))
    assert sorted(n for n in env if re.fullmatch(r"ADUAN_\w+_ADDR", n)) == sorted(
        f"ADUAN_{p.upper()}_ADDR" for p in PEERS
    )


def test_session_secret_comes_from_the_named_secret() -> None:
    (var,) = [v for v in desk_container(MINIMAL)["env"] if v["name"] == "ADUAN_DESK_SESSION_SECRET"]
    assert var["valueFrom"]["secretKeyRef"] == {"name": "aduan-desk", "key": "session-secret"}
    # Development without a Secret: the desk makes a random one per process.
    env = container_env(desk_container(VALUE_SETS["kind"].values()))
    assert "ADUAN_DESK_SESSION_SECRET" not in env
    assert len(DeskSettings.from_env(env).session_secret) >= 32


def test_kind_gives_the_desk_the_services_public_development_secret() -> None:
    """kind's services run auth.dev without a Secret, so they check tokens against the public
    DEV_SECRET; the desk mints with ADUAN_JWT_SECRET, which must be that same value."""
    values = VALUE_SETS["kind"].values()
    assert merged_values(values)["secrets"]["jwt"]["name"] == ""
    assert container_env(desk_container(values))["ADUAN_JWT_SECRET"] == DEV_SECRET


def test_the_desk_refuses_what_the_chart_refuses() -> None:
    """The check above is the desk's own: without a session secret outside development, or
    without the development sign-in, DeskSettings.from_env raises."""
    env = container_env(desk_container(MINIMAL))
    DeskSettings.from_env(env)
    without_dev = {k: v for k, v in env.items() if k != "ADUAN_AUTH_DEV"}
    with pytest.raises(SettingsError, match="no sign-in configured"):
        DeskSettings.from_env(without_dev)
    del without_dev["ADUAN_DESK_SESSION_SECRET"]
    with pytest.raises(SettingsError, match="ADUAN_DESK_SESSION_SECRET"):
        DeskSettings.from_env(without_dev)


def test_tls_gives_the_desk_the_ca_and_its_client_certificate() -> None:
    values = DESK_SETS["tls-and-identity"]
    container = desk_container(values)
    env = container_env(container)
    assert env["ADUAN_TLS_CA"] == "/etc/aduan/tls/ca.crt"
    assert env["ADUAN_TLS_CLIENT_CERT"] == "/etc/aduan/tls/tls.crt"
    assert env["ADUAN_TLS_CLIENT_KEY"] == "/etc/aduan/tls/tls.key"
    # The desk serves HTTP behind the ingress, not TLS itself, and has no identity of its own.
    assert "ADUAN_TLS_CERT" not in env
    assert "ADUAN_JWT_SIGNING_KEY_FILE" not in env
    deployment = one(desk_objects(values), "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "aduan-tls"
    assert "identity" not in volumes
    assert desk_settings(values).tls.ca == "/etc/aduan/tls/ca.crt"


# --- Service, Ingress, HTTPRoute -----------------------------------------------------------------


def test_service() -> None:
    service = one(desk_objects(MINIMAL), "Service")
    assert service["spec"]["selector"] == DESK_LABELS
    (port,) = service["spec"]["ports"][:1]
    assert port == {
        "name": "http",
        "port": DESK_PORT,
        "targetPort": "http",
        "protocol": "TCP",
        "appProtocol": "http",
    }


def test_ingress_and_http_route() -> None:
    objs = desk_objects(VALUE_SETS["everything-on"].values())
    ingress = one(objs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"secretName": "desk-tls", "hosts": ["desk.aduan.example.go.id"]}
    ]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "desk.aduan.example.go.id"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/"
    assert path["backend"] == {"service": {"name": DESK, "port": {"name": "http"}}}
    route = one(objs, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [
        {"name": "public", "namespace": "gateway", "sectionName": "https"}
    ]
    assert route["spec"]["hostnames"] == ["desk.aduan.example.go.id"]
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": DESK, "port": DESK_PORT}]
    assert not of_kind(desk_objects(MINIMAL), "Ingress")
    assert not of_kind(desk_objects(MINIMAL), "HTTPRoute")


# --- HPA, PDB, ServiceMonitor ------------------------------------------------------------------


def test_autoscaling_disruption_budget_and_service_monitor() -> None:
    objs = desk_objects(VALUE_SETS["everything-on"].values())
    deployment = one(objs, "Deployment")
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    hpa = one(objs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": DESK,
    }
    assert one(objs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == DESK_LABELS
    monitor = one(objs, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == DESK_LABELS
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    service = one(objs, "Service")
    assert "metrics" in {p["name"] for p in service["spec"]["ports"]}


# --- NetworkPolicy ----------------------------------------------------------------------------


def test_network_policy_of_the_desk() -> None:
    values = VALUE_SETS["everything-on"].values()
    policy = one(desk_objects(values), "NetworkPolicy")["spec"]
    assert policy["podSelector"] == {"matchLabels": DESK_LABELS}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    http, scrape = policy["ingress"]
    # HTTP from the ingress controller, the extra peers named and the helm test pod only.
    assert http["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert http["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {},
        },
        {"podSelector": {"matchLabels": {"app": "gateway"}}},
        {"podSelector": {"matchLabels": {**DESK_LABELS, "app.kubernetes.io/component": "test"}}},
    ]
    assert scrape["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    # Out: DNS, the gRPC port of each service it calls (those pods only), and the OTel collector.
    dns, *peers, otel = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert [
        (rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"], port["port"])
        for rule in peers
        for port in rule["ports"]
    ] == [(p, GRPC_PORTS[p]) for p in PEERS]
    assert otel["ports"] == [{"port": 4317, "protocol": "TCP"}]
    assert otel["to"] == values["networkPolicy"]["egress"]["otel"]["to"]


def test_the_services_admit_the_desk_on_their_grpc_ports() -> None:
    objs = rendered_objects("everything-on")
    desk = one(list(objs), "Deployment")["spec"]["template"]["metadata"]["labels"]
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(objs, "NetworkPolicy")}
    # The release-wide default deny covers the desk too.
    deny = policies[f"{RELEASE}-default-deny"]["podSelector"]["matchLabels"]
    assert deny.items() <= desk.items()
    for peer in PEERS:
        admitted = [
            rule
            for rule in policies[f"{RELEASE}-{peer}"]["ingress"]
            if any(
                "namespaceSelector" not in source
                and source.get("podSelector", {}).get("matchLabels", {}).items() <= desk.items()
                for source in rule["from"]
            )
        ]
        assert [r["ports"] for r in admitted] == [[{"port": "grpc", "protocol": "TCP"}]], peer


def test_helm_test_checks_the_desks_readiness() -> None:
    objs = rendered_objects("everything-on")
    (pod,) = of_kind(objs, "Pod")
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ADUAN_TEST_DESK"] == f"http://{DESK}:{DESK_PORT}"
    assert 'urlopen(f"{desk}/readyz"' in container["args"][0]
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(objs, "NetworkPolicy")}
    to_desk = [
        rule
        for rule in policies[f"{RELEASE}-test"]["egress"]
        if rule["to"][0].get("podSelector", {}).get("matchLabels") == DESK_LABELS
    ]
    assert [r["ports"] for r in to_desk] == [[{"port": DESK_PORT, "protocol": "TCP"}]]
    (default_pod,) = of_kind(rendered_objects("defaults"), "Pod")
    assert "ADUAN_TEST_DESK" not in {e["name"] for e in default_pod["spec"]["containers"][0]["env"]}


def test_an_otel_endpoint_without_an_egress_destination_is_refused_for_the_desk() -> None:
    values = deep_merge(
        MINIMAL,
        {"networkPolicy": {"enabled": True}, "global": {"otel": {"endpoint": "http://otel:4317"}}},
    )
    with pytest.raises(HelmError, match=re.escape("intake/routing/notification/query/desk")):
        render(values)


# --- Refusals ---------------------------------------------------------------------------------

SIGN_IN = (
    "desk cannot start: no sign-in configured. Set desk.oidc.issuer and desk.oidc.clientId "
    "(OpenID Connect at the identity provider, production; with auth.jwksUrl), or auth.dev=true "
    "with an HS256 secret (secrets.jwt.name with keys.SECRET, or ADUAN_JWT_SECRET in desk.env) "
    "for the development sign-in (docs/desk.md)"
)
NO_JWKS = (
    "desk cannot start: OpenID Connect sign-in checks the identity provider's access token as "
    "the services do. Set auth.jwksUrl (the identity provider's JWKS; or ADUAN_JWT_JWKS_FILE in "
    "desk.env with the file in desk.extraVolumes), with auth.issuer and auth.audience as for the "
    "services"
)
# OpenID Connect with HS256 service tokens: the services need no JWKS, so only the desk's check
# is left to refuse it.
OIDC_WITHOUT_JWKS = deep_merge(
    OIDC,
    {
        "auth": {"jwksUrl": ""},
        "secrets": {"jwt": {"name": "aduan-jwt"}, "serviceIdentity": {"name": ""}},
    },
)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"desk": {"enabled": True}},
            "desk.publicUrl is required: the URL users reach the desk at (e.g. "
            "https://desk.example.go.id; https makes the session cookie Secure)",
        ),
        (
            deep_merge(
                MINIMAL, {"auth": {"dev": False}, "desk": {"sessionSecret": {"existingSecret": ""}}}
            ),
            "desk cannot start: desk.sessionSecret.existingSecret is required outside "
            "development (auth.dev): an existing Secret whose key desk.sessionSecret.key holds "
            "at least 32 random characters signing the session cookie",
        ),
        (
            deep_merge(MINIMAL, {"desk": {"sessionSecret": {"existingSecret": ""}, "replicas": 2}}),
            "desk runs more than one replica without desk.sessionSecret.existingSecret: each "
            "pod would sign sessions with a random secret of its own and refuse the others' "
            "cookies. Set desk.sessionSecret.existingSecret",
        ),
        (deep_merge(MINIMAL, {"auth": {"dev": False}}), SIGN_IN),
        (deep_merge(MINIMAL, {"secrets": {"jwt": {"name": ""}}}), SIGN_IN),
        (
            deep_merge(OIDC, {"desk": {"oidc": {"clientId": ""}}}),
            "desk.oidc.clientId is required with desk.oidc.issuer: the desk's client id at the "
            "identity provider",
        ),
        (
            deep_merge(MINIMAL, {"desk": {"oidc": {"clientId": "aduan-desk"}}}),
            "desk.oidc.clientId, clientSecret and scopes need desk.oidc.issuer (the identity "
            "provider's issuer URL)",
        ),
        (
            deep_merge(OIDC, {"desk": {"oidc": {"issuer": "http://sso.example.go.id/realms/x"}}}),
            "desk.oidc.issuer must be an https URL (plain http only on this machine), not "
            "http://sso.example.go.id/realms/x",
        ),
        (
            deep_merge(OIDC, {"desk": {"oidc": {"scopes": "profile email"}}}),
            'desk.oidc.scopes must include openid, not "profile email"',
        ),
        (
            deep_merge(OIDC, {"desk": {"publicUrl": "http://desk.example.go.id"}}),
            "desk.publicUrl must be an https URL with OpenID Connect sign-in (desk.oidc.issuer; "
            "plain http only on this machine): the identity provider sends users back to it + "
            "/signin/callback, not to http://desk.example.go.id",
        ),
        (deep_merge(OIDC, {"desk": {"publicUrl": ""}}), "desk.publicUrl is required"),
        (OIDC_WITHOUT_JWKS, NO_JWKS),
        (
            deep_merge(MINIMAL, {"query": {"enabled": False}}),
            "desk calls query: set query.enabled=true (or disable the desk)",
        ),
        (
            deep_merge(MINIMAL, {"desk": {"httpPort": 9464}}),
            "desk cannot start: desk.httpPort and metrics.port (9464) must differ",
        ),
        (
            deep_merge(MINIMAL, {"desk": {"ingress": {"enabled": True}}}),
            "desk.ingress.enabled needs desk.ingress.hosts (the host names it answers)",
        ),
        (
            deep_merge(MINIMAL, {"desk": {"httpRoute": {"enabled": True}}}),
            "desk.httpRoute.enabled needs gatewayApi.parentRefs (the Gateway, e.g. [{name: "
            "public, namespace: gateway}])",
        ),
        (
            deep_merge(MINIMAL, {"desk": {"podLabels": {"app.kubernetes.io/component": "x"}}}),
            "app.kubernetes.io/component",
        ),
    ],
)
def test_what_the_desk_cannot_do_is_refused_at_render_time(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError, match=re.escape(message)):
        render(values)


def test_production_example_enables_the_desk_with_openid_connect() -> None:
    """values-production.yaml signs officers in at the identity provider whose JWKS the services
    trust: the desk renders with it, and its settings reader accepts the rendered environment
    (client secret from the mounted Secret, the services' token checks)."""
    production = VALUE_SETS["production"].values()
    desk = production["desk"]
    assert desk["enabled"] is True
    assert desk["publicUrl"].startswith("https://")
    assert desk["sessionSecret"]["existingSecret"]
    assert desk["ingress"]["enabled"]
    assert desk["ingress"]["tls"]
    # The same identity provider (realm) as the services' tokens.
    assert desk["oidc"]["issuer"] == production["auth"]["issuer"]
    assert production["auth"]["jwksUrl"].startswith(desk["oidc"]["issuer"] + "/")
    assert "auth" not in production or not production["auth"].get("dev")
    objs = desk_objects(production)
    assert {"Deployment", "Service", "Ingress", "NetworkPolicy", "HorizontalPodAutoscaler"} <= {
        o["kind"] for o in objs
    }
    settings = desk_settings(production)
    assert settings.oidc.issuer == desk["oidc"]["issuer"]
    assert settings.oidc.client_id == desk["oidc"]["clientId"]
    assert settings.oidc.client_secret == STAND_IN
    assert settings.auth.jwks_url == production["auth"]["jwksUrl"]
    assert settings.auth.issuer == production["auth"]["issuer"]
    assert settings.auth.audience == production["auth"]["audience"]
    assert not settings.dev_sign_in
    assert settings.redirect_uri == "https://desk.aduan.example.go.id/signin/callback"
    assert settings.secure_cookies
    assert settings.tls.ca == "/etc/aduan/tls/ca.crt"


# --- OpenID Connect sign-in ---------------------------------------------------------------------


def test_openid_connect_values_reach_the_desk() -> None:
    container = desk_container(OIDC)
    env = container_env(container)
    assert env["ADUAN_DESK_OIDC_ISSUER"] == IDP
    assert env["ADUAN_DESK_OIDC_CLIENT_ID"] == "aduan-desk"
    assert env["ADUAN_DESK_OIDC_SCOPES"] == "openid profile email"
    # The client secret is a file from the named Secret, never a value in the pod spec.
    assert env["ADUAN_DESK_OIDC_CLIENT_SECRET_FILE"] == "/etc/aduan/oidc/client-secret"
    assert "ADUAN_DESK_OIDC_CLIENT_SECRET" not in env
    assert {"name": "oidc", "mountPath": "/etc/aduan/oidc", "readOnly": True} in container[
        "volumeMounts"
    ]
    spec = one(desk_objects(OIDC), "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "oidc"]
    assert volume["secret"] == {
        "secretName": "aduan-desk-oidc",
        "defaultMode": 0o440,
        "items": [{"key": "secret", "path": "client-secret"}],
    }
    # The services' token checks (ADUAN_JWT_*), no service identity of its own.
    assert env["ADUAN_JWT_JWKS_URL"] == OIDC["auth"]["jwksUrl"]
    assert env["ADUAN_JWT_ISSUER"] == IDP
    assert env["ADUAN_JWT_AUDIENCE"] == "aduan"
    assert "ADUAN_JWT_SIGNING_KEY_FILE" not in env
    assert "identity" not in {v["name"] for v in spec["volumes"]}
    settings = desk_settings(OIDC)
    assert settings.oidc.enabled
    assert settings.oidc.client_secret == STAND_IN
    assert settings.oidc.scopes == "openid profile email"
    assert not settings.dev_sign_in
    assert settings.redirect_uri == "https://desk.example.go.id/signin/callback"


def test_a_public_client_has_no_secret_and_the_default_scopes() -> None:
    values = deep_merge(
        OIDC, {"desk": {"oidc": {"clientSecret": {"existingSecret": ""}, "scopes": ""}}}
    )
    container = desk_container(values)
    env = container_env(container)
    assert not {"ADUAN_DESK_OIDC_CLIENT_SECRET_FILE", "ADUAN_DESK_OIDC_SCOPES"} & set(env)
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    settings = desk_settings(values)
    assert settings.oidc.client_secret == ""
    assert settings.oidc.scopes == "openid profile"


def test_openid_connect_and_the_development_sign_in_together() -> None:
    """Both configured (a staging desk): the desk offers both."""
    values = deep_merge(OIDC, {"auth": {"dev": True}, "secrets": {"jwt": {"name": "aduan-jwt"}}})
    settings = desk_settings(values)
    assert settings.oidc.enabled
    assert settings.dev_sign_in


def test_the_desk_refuses_openid_connect_without_a_jwks_as_the_chart_does() -> None:
    """The chart's JWKS refusal is the desk's own check_oidc: without ADUAN_JWT_JWKS_URL (or
    _FILE) DeskSettings.from_env raises, with the JWKS from desk.env it starts."""
    env = container_env(desk_container(OIDC))
    env.pop("ADUAN_DESK_OIDC_CLIENT_SECRET_FILE")
    DeskSettings.from_env(env)
    del env["ADUAN_JWT_JWKS_URL"]
    with pytest.raises(SettingsError, match=re.escape("set ADUAN_JWT_JWKS_URL")):
        DeskSettings.from_env(env)
    # A JWKS file of the desk's own (desk.env, the file from desk.extraVolumes) counts.
    with_file = deep_merge(
        OIDC_WITHOUT_JWKS, {"desk": {"env": {"ADUAN_JWT_JWKS_FILE": "/etc/aduan/idp/jwks.json"}}}
    )
    assert container_env(desk_container(with_file))["ADUAN_JWT_JWKS_FILE"] == (
        "/etc/aduan/idp/jwks.json"
    )


def test_the_desk_reaches_the_identity_provider_through_the_services_rule() -> None:
    """With OpenID Connect the desk's NetworkPolicy gets the one identityProvider destination the
    services' JWKS already uses (networkPolicy.egress.identityProvider), on the ports of both the
    JWKS URL and the issuer; without it the desk has no way out to the provider."""
    policy = one(desk_objects(VALUE_SETS["production"].values()), "NetworkPolicy")["spec"]
    to_idp = [r for r in policy["egress"] if {"ipBlock": {"cidr": "192.0.2.10/32"}} in r["to"]]
    assert to_idp == [
        {
            "to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}],
            "ports": [{"port": 443, "protocol": "TCP"}],
        }
    ]
    values = deep_merge(
        OIDC,
        {
            "desk": {"oidc": {"issuer": "https://login.example.go.id:8443/realms/atrbpn"}},
            "networkPolicy": {
                "enabled": True,
                "egress": {"identityProvider": {"cidrs": ["192.0.2.10/32", "192.0.2.11/32"]}},
            },
        },
    )
    objs = objects(render(values), subcharts=False)
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(objs, "NetworkPolicy")}
    idp_rule = {
        "to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}, {"ipBlock": {"cidr": "192.0.2.11/32"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}],
    }
    for name in (DESK, f"{RELEASE}-intake", f"{RELEASE}-query"):
        assert policies[name]["egress"].count(idp_rule) == 1, name
    # The development sign-in: no identity provider for the desk (everything-on has a JWKS URL
    # for the services).
    dev = one(desk_objects(VALUE_SETS["everything-on"].values()), "NetworkPolicy")["spec"]
    assert not [r for r in dev["egress"] if {"ipBlock": {"cidr": "192.0.2.10/32"}} in r["to"]]


def test_openid_connect_without_an_identity_provider_destination_is_refused() -> None:
    values = deep_merge(OIDC, {"networkPolicy": {"enabled": True}})
    with pytest.raises(
        HelmError,
        match=re.escape(
            "networkPolicy.enabled and intake/routing/notification/query/desk reaches the "
            f"identity provider ({OIDC['auth']['jwksUrl']}, {IDP}, port 443): set "
            "networkPolicy.egress.identityProvider.cidrs (or .to)"
        ),
    ):
        render(values)
    # The desk alone (HS256 service tokens, a JWKS file for the desk): still refused.
    alone = deep_merge(
        OIDC_WITHOUT_JWKS,
        {
            "networkPolicy": {"enabled": True},
            "desk": {"env": {"ADUAN_JWT_JWKS_FILE": "/etc/aduan/idp/jwks.json"}},
        },
    )
    with pytest.raises(
        HelmError,
        match=re.escape(f"desk reaches the identity provider ({IDP}, port 443)"),
    ):
        render(alone)


@pytest.mark.parametrize(
    "values",
    [
        # Development without a session Secret: one replica makes its own.
        {"auth": {"dev": True}, "desk": {"enabled": True, "publicUrl": "http://127.0.0.1:8090"}},
        # Sign-in and session secret through the desk's own variables count.
        {
            "desk": {
                "enabled": True,
                "publicUrl": "http://127.0.0.1:8090",
                "env": {"ADUAN_AUTH_DEV": "true"},
                "extraEnv": [{"name": "ADUAN_DESK_SESSION_SECRET", "value": STAND_IN}],
            },
        },
    ],
)
def test_desk_combinations_that_start_render(values: dict[str, Any]) -> None:
    settings = desk_settings(values)
    assert settings.dev_sign_in


def test_notes_give_the_desk_url() -> None:
    text = notes(MINIMAL)
    assert "The desk (web workplace): https://desk.example.go.id" in text
    assert f"port-forward svc/{DESK} {DESK_PORT}:http" in text
    assert "sign-in: OpenID Connect" not in text
    assert (
        f"  sign-in: OpenID Connect at {IDP}, client aduan-desk; register redirect URI "
        "https://desk.example.go.id/signin/callback and post-logout redirect URI "
        "https://desk.example.go.id/signin there"
    ) in notes(OIDC)
