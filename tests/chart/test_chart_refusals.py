"""What cannot start is refused at render time, and what every shipped values file renders starts.

"Starts" is checked with the services' own settings code: each rendered Deployment's environment
(Secret references replaced by stand-in values, the identity key and JWKS by real files that
`aduan keys` writes) goes through
ServiceSettings.from_env, ServiceAuth.from_settings, and intake's and notification's settings
readers (the desk's through DeskSettings.from_env), which raise SettingsError exactly where the
service would refuse to start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart.render import (
    COMPONENTS,
    VALUE_SETS,
    HelmError,
    objects,
    of_kind,
    render,
    rendered_objects,
)

from aduan.core.settings import ServiceSettings, SettingsError
from aduan.service.auth import ServiceAuth
from aduan_desk.settings import DeskSettings
from aduan_devtools.keygen import JWKS_FILE, write_service_keys
from aduan_intake.media import media_store_from_settings
from aduan_intake.webhook import WebhookSettings
from aduan_notification.config import NotificationConfig

SETS = sorted(VALUE_SETS)
SHIPPED = ("defaults", "kind", "production", "external-nats", "cloudnativepg")
STAND_IN = "s" * 48  # what a Secret holds: long enough for ADUAN_JWT_SECRET's 32-byte minimum
# The desk's OpenID Connect client secret, mounted as a file (desk.oidc.clientSecret).
OIDC_CLIENT_SECRET = "desk-oidc-client-secret"


def container_env(deployment: dict[str, Any], key_dir: Path) -> dict[str, str]:
    """The environment the container would see (Secret values stood in for)."""
    env: dict[str, str] = {}
    for var in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif "secretKeyRef" in var.get("valueFrom", {}):
            env[var["name"]] = STAND_IN
        else:
            env[var["name"]] = "10.0.0.1"  # fieldRef and the like
    component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
    if "ADUAN_JWT_SIGNING_KEY_FILE" in env:
        env["ADUAN_JWT_SIGNING_KEY_FILE"] = str(key_dir / f"{component}.pem")
    if "ADUAN_JWT_JWKS_FILE" in env:
        env["ADUAN_JWT_JWKS_FILE"] = str(key_dir / JWKS_FILE)
    if "ADUAN_DESK_OIDC_CLIENT_SECRET_FILE" in env:
        env["ADUAN_DESK_OIDC_CLIENT_SECRET_FILE"] = str(key_dir / OIDC_CLIENT_SECRET)
    return env


def start(component: str, env: dict[str, str]) -> None:
    """The configuration checks the service runs at start; raises SettingsError like it does."""
    if component == "desk":
        DeskSettings.from_env(env)
        return
    settings = ServiceSettings.from_env(component, env)
    ServiceAuth.from_settings(settings)
    if component == "intake":
        media_store_from_settings(settings.extra, settings.data_dir)
        WebhookSettings.from_extra(settings.extra, settings.grpc_host)
    if component == "notification":
        NotificationConfig.from_extra(settings.extra)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with every service's identity key and their JWKS, as `aduan keys` writes it
    (and the desk's client secret, as its mounted Secret holds it)."""
    directory = tmp_path_factory.mktemp("identity")
    write_service_keys(directory)
    (directory / OIDC_CLIENT_SECRET).write_text(STAND_IN)
    return directory


@pytest.mark.parametrize("value_set", SETS)
def test_every_value_set_starts(value_set: str, key_file: Path) -> None:
    deployments = of_kind(rendered_objects(value_set), "Deployment")
    assert deployments
    for deployment in deployments:
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        start(component, container_env(deployment, key_file))


def test_the_start_check_catches_what_the_services_refuse(key_file: Path) -> None:
    """The check above is the services' own: an environment they refuse fails it."""
    (query,) = [
        d for d in of_kind(rendered_objects("defaults"), "Deployment") if "query" in str(d)[:400]
    ]
    env = container_env(query, key_file)
    start("query", env)
    del env["ADUAN_JWT_SECRET"]
    with pytest.raises(SettingsError, match="no token key configured"):
        start("query", env)
    env["ADUAN_JWT_JWKS_URL"] = "https://idp.example/certs"
    with pytest.raises(SettingsError, match="cannot call its peers"):
        start("query", env)


@pytest.mark.parametrize("value_set", SETS)
def test_every_service_is_given_the_streams_max_age(value_set: str, key_file: Path) -> None:
    """natsConnection.streamMaxAge reaches every service as ADUAN_STREAM_MAX_AGE, next to
    ADUAN_STREAM_REPLICAS, and their settings reader accepts it (7d by default)."""
    deployments = [
        d
        for d in of_kind(rendered_objects(value_set), "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in COMPONENTS
    ]
    assert {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments} == set(
        COMPONENTS
    )
    for deployment in deployments:
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        env = container_env(deployment, key_file)
        assert env["ADUAN_STREAM_MAX_AGE"] == "7d", component
        names = [v["name"] for v in deployment["spec"]["template"]["spec"]["containers"][0]["env"]]
        assert names.index("ADUAN_STREAM_MAX_AGE") == names.index("ADUAN_STREAM_REPLICAS") + 1
        settings = ServiceSettings.from_env(component, env)
        assert settings.stream_max_age_seconds == 7 * 86400


@pytest.mark.parametrize(("max_age", "seconds"), [("12h", 12 * 3600), ("90", 90), ("0", 0)])
def test_stream_max_age_values_reach_the_services(
    max_age: str, seconds: int, key_file: Path
) -> None:
    objs = objects(render({"natsConnection": {"streamMaxAge": max_age}}), subcharts=False)
    for deployment in of_kind(objs, "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        env = container_env(deployment, key_file)
        assert env["ADUAN_STREAM_MAX_AGE"] == max_age
        assert ServiceSettings.from_env(component, env).stream_max_age_seconds == seconds


@pytest.mark.parametrize("max_age", ["7 days", "1w", "-1d", "", 7])
def test_a_stream_max_age_the_services_would_refuse_fails_the_schema(max_age: object) -> None:
    with pytest.raises(HelmError, match="streamMaxAge"):
        render({"natsConnection": {"streamMaxAge": max_age}})


def test_shipped_values_files_are_the_ones_tested() -> None:
    shipped = {"values.yaml", "values-kind.yaml"} | {
        f"examples/{p.name}"
        for p in (Path(__file__).parents[2] / "charts/aduan/examples").iterdir()
    }
    tested = {"values.yaml"} | {f for vs in VALUE_SETS.values() for f in vs.files}
    assert shipped <= tested
    assert set(SHIPPED) <= set(VALUE_SETS)


NO_KEY: dict[str, Any] = {"secrets": {"jwt": {"name": ""}}}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (NO_KEY, r"no token key configured\. Set auth\.jwksUrl"),
        (
            {**NO_KEY, "auth": {"jwksUrl": "https://idp.example/certs"}},
            r"cannot call its peers: with auth\.jwksUrl set secrets\.serviceIdentity\.name",
        ),
        (
            {**NO_KEY, "auth": {"dev": True, "jwksUrl": "https://idp.example/certs"}},
            r"secrets\.serviceIdentity\.name",
        ),
        (
            {"notification": {"config": {"whatsappPhoneNumberId": "1"}}},
            r"WhatsApp is partly configured; also set notification\.config\.whatsappBaseUrl, "
            r"secrets\.whatsapp\.name",
        ),
        (
            {"notification": {"config": {"officeWebhookUrl": "https://o.example"}}},
            r"officeWebhookUrl needs secrets\.officeWebhook\.name",
        ),
        (
            {"natsConnection": {"auth": {"existingSecret": "nats-auth"}}},
            r"needs userKey and passwordKey, or credsKey",
        ),
        ({"natsConnection": {"auth": {"userKey": "u"}}}, r"need natsConnection\.auth\.existing"),
        (
            {
                "natsConnection": {
                    "auth": {"existingSecret": "nats-auth", "userKey": "u", "credsKey": "c"}
                }
            },
            r"userKey and passwordKey go together",
        ),
        ({"metrics": {"port": 50053}}, r"notification cannot start: its ports .* must all differ"),
        (
            {"tls": {"enabled": True, "secretName": "t", "healthPort": 8081}},
            r"intake cannot start: its ports .* tls\.healthPort",
        ),
        (
            {
                "secrets": {"whatsapp": {"name": "wa"}},
                "notification": {"enabled": False},
                "intake": {"autoscaling": {"enabled": True}},
            },
            r"intake\.config\.media\.store=s3",
        ),
        ({"intake": {"config": {"media": {"store": "s3"}}}}, r"s3Bucket is required"),
        ({"tls": {"enabled": True}}, r"tls\.secretName"),
        (
            {"store": {"embeddedSqlite": True}, "query": {"replicas": 2}},
            r"embeddedSqlite .* replicas <= 1",
        ),
        ({"ingress": {"webhook": {"enabled": True}}}, r"ingress\.webhook\.hosts"),
        ({"ingress": {"grpc": {"enabled": True}}}, r"ingress\.grpc\.hosts"),
        ({"gatewayApi": {"grpcRoute": {"enabled": True}}}, r"gatewayApi\.parentRefs"),
        (
            {"routing": {"serviceAccount": {"create": False, "annotations": {"a": "b"}}}},
            r"serviceAccount\.annotations need serviceAccount\.create",
        ),
    ],
)
def test_what_cannot_start_is_refused_at_render_time(values: dict[str, Any], message: str) -> None:
    with pytest.raises(HelmError, match=message):
        render(values)


@pytest.mark.parametrize(
    "values",
    [
        # Key material through the services' own variables counts.
        {
            **NO_KEY,
            **{
                c: {"extraEnv": [{"name": "ADUAN_JWT_SECRET", "value": STAND_IN}]}
                for c in ("intake", "routing", "notification", "query")
            },
        },
        # auth.dev alone: the public development secret signs the services' own tokens.
        {**NO_KEY, "auth": {"dev": True}},
        # JWKS plus each service's signing key: the production combination.
        {
            **NO_KEY,
            "auth": {"jwksUrl": "https://idp.example/certs"},
            "secrets": {"jwt": {"name": ""}, "serviceIdentity": {"name": "identity"}},
        },
    ],
)
def test_combinations_that_start_render(values: dict[str, Any], key_file: Path) -> None:
    for deployment in of_kind(objects(render(values), subcharts=False), "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        start(component, container_env(deployment, key_file))
