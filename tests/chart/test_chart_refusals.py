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
from chart.render import VALUE_SETS, HelmError, objects, of_kind, render, rendered_objects

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
    """A directory with every service's identity key and their JWKS, as `aduan keys` writes it."""
    directory = tmp_path_factory.mktemp("identity")
    write_service_keys(directory)
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
