"""The pod harness itself (tests/podrun/kubelet.py), on small pods of `python -c` containers: the
environment and volumes as the kubelet builds them, the two documented rewrites and nothing
else, probes, restarts, run-to-completion pods, and no process left behind."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from podrun.kubelet import (
    Cluster,
    ImageConfig,
    PodConfigError,
    PodRun,
    expand,
    stop_all,
    wait_ready,
)
from podrun.standins import LoopbackIps

IPS = LoopbackIps("127.0.9.2")
PYTHON = sys.executable


def image(container: Mapping[str, Any]) -> ImageConfig:
    return ImageConfig(
        entrypoint=(PYTHON, "-c"),
        cmd=("print('cmd')",),
        env={"FROM_IMAGE": "yes", "DATA": "/data", "PATH": "/usr/bin:/bin"},
        workdir="/app",
        rootfs_dirs=("/data",),
    )


def cluster() -> Cluster:
    return Cluster(
        "shop",
        config_maps={"settings": {"colour": "blue", "rules.yaml": "a: 1\n"}},
        secrets={"creds": {"password": b"s3cret", "key.pem": b"PEM"}},
        dns={("db", "shop"): "127.0.9.200", ("nats", "messaging"): "127.0.9.201"},
    )


def pod(spec: dict[str, Any], root: Path, name: str = "web-0") -> PodRun:
    return PodRun(
        cluster(),
        name,
        spec,
        ip=IPS.take(),
        root=root / name,
        image_config=image,
        labels={"app": "web"},
        annotations={"note": "x"},
    )


@pytest.fixture
def pods() -> Iterator[list[PodRun]]:
    running: list[PodRun] = []
    try:
        yield running
    finally:
        stop_all(running)


def test_expand_follows_kubernetes() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)-$(C)-$$(A)", env) == "1-two-$(C)-$(A)"


def test_env_from_every_source_with_the_documented_rewrites_only(tmp_path: Path) -> None:
    spec = {
        "volumes": [
            {"name": "tmp", "emptyDir": {}},
            {
                "name": "cfg",
                "configMap": {
                    "name": "settings",
                    "items": [{"key": "rules.yaml", "path": "r.yaml"}],
                },
            },
            {"name": "sec", "secret": {"secretName": "creds", "defaultMode": 0o440}},
        ],
        "containers": [
            {
                "name": "web",
                "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
                "env": [
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {
                        "name": "LABEL",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}},
                    },
                    {
                        "name": "COLOUR",
                        "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "colour"}},
                    },
                    {
                        "name": "PASSWORD",
                        "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
                    },
                    {
                        "name": "GONE",
                        "valueFrom": {
                            "secretKeyRef": {"name": "nope", "key": "x", "optional": True}
                        },
                    },
                    {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                    {"name": "NAME", "value": "server-$(POD)"},
                    {"name": "BIND", "value": "0.0.0.0"},
                    {"name": "LISTEN", "value": "0.0.0.0:8080"},
                    {"name": "DB_URL", "value": "postgresql://u@db:5432/x"},
                    {"name": "NATS_URL", "value": "nats://nats.messaging.svc.cluster.local:4222"},
                    {"name": "SMTP_HOST", "value": "db.shop.svc"},
                    {"name": "CALLER", "value": "db"},
                    {"name": "STORE", "value": "sqlite:////tmp/x.sqlite"},
                    {"name": "RULES", "value": "/etc/cfg/r.yaml"},
                    {"name": "KEY", "value": "--key=/etc/sec/key.pem"},
                    {"name": "ELSEWHERE", "value": "/var/tmp/a:/etc/cfgx"},
                ],
                "resources": {"limits": {"cpu": "1500m"}},
                "volumeMounts": [
                    {"name": "tmp", "mountPath": "/tmp"},
                    {"name": "cfg", "mountPath": "/etc/cfg"},
                    {"name": "sec", "mountPath": "/etc/sec"},
                ],
                "args": ["print('hi')", "$(POD)", "/etc/cfg/r.yaml"],
            }
        ],
    }
    run = pod(spec, tmp_path)
    env = run.containers[0].env
    volumes = tmp_path / "web-0" / "volumes"
    assert env["HOSTNAME"] == "web-0"
    assert env["FROM_IMAGE"] == "yes"
    assert env["CM_colour"] == "blue"
    assert (env["POD"], env["IP"], env["NS"], env["LABEL"]) == ("web-0", run.ip, "shop", "web")
    assert (env["COLOUR"], env["PASSWORD"], env["CPU"]) == ("blue", "s3cret", "2")
    assert "GONE" not in env
    assert env["NAME"] == "server-web-0"
    assert (env["BIND"], env["LISTEN"]) == (run.ip, f"{run.ip}:8080")
    assert env["DB_URL"] == "postgresql://u@127.0.9.200:5432/x"
    assert env["NATS_URL"] == "nats://127.0.9.201:4222"
    assert env["SMTP_HOST"] == "127.0.9.200"
    assert env["CALLER"] == "db"  # not a host: left alone
    assert env["STORE"] == f"sqlite:///{volumes}/tmp/x.sqlite"
    assert env["RULES"] == f"{volumes}/cfg/r.yaml"
    assert env["KEY"] == f"--key={volumes}/sec/key.pem"
    assert env["ELSEWHERE"] == "/var/tmp/a:/etc/cfgx"
    assert env["DATA"] == str(tmp_path / "web-0" / "rootfs" / "data")
    assert run.containers[0].argv == [PYTHON, "-c", "print('hi')", "web-0", f"{volumes}/cfg/r.yaml"]
    assert run.containers[0].workdir == str(tmp_path / "web-0" / "rootfs" / "app")
    assert (volumes / "cfg" / "r.yaml").read_text() == "a: 1\n"
    assert not (volumes / "cfg" / "colour").exists()
    assert (volumes / "sec" / "key.pem").read_bytes() == b"PEM"
    assert (volumes / "sec" / "key.pem").stat().st_mode & 0o777 == 0o440


def test_a_missing_reference_is_create_container_config_error(tmp_path: Path) -> None:
    spec = {
        "containers": [
            {
                "name": "web",
                "env": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "no"}}}
                ],
            }
        ]
    }
    with pytest.raises(PodConfigError, match="Secret 'creds' key 'no' not found"):
        pod(spec, tmp_path)


SERVER = """
import http.server, os, sys, time
if os.environ.get("SLOW"):
    time.sleep(float(os.environ["SLOW"]))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path != "/live" or not os.path.exists(os.environ["SICK"])
        self.send_response(200 if ok else 500)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer((os.environ["IP"], 8080), H).serve_forever()
"""


def server_spec(extra_env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "terminationGracePeriodSeconds": 2,
        "containers": [
            {
                "name": "web",
                "command": [PYTHON, "-c", SERVER],
                "env": [
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "SICK", "value": "/tmp/sick"},
                    *(extra_env or []),
                ],
                "ports": [{"name": "http", "containerPort": 8080}],
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                "startupProbe": {
                    "tcpSocket": {"port": "http"},
                    "periodSeconds": 1,
                    "failureThreshold": 10,
                },
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1},
                "livenessProbe": {
                    "exec": {"command": ["test", "!", "-e", "/tmp/sick"]},
                    "periodSeconds": 1,
                    "failureThreshold": 2,
                },
            }
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }


def test_probes_bring_a_pod_to_ready_and_a_liveness_failure_restarts_it(
    tmp_path: Path, pods: list[PodRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("podrun.kubelet.BACKOFF_START", 0.2)
    run = pod(server_spec(), tmp_path)
    pods.append(run)
    run.start()
    assert wait_ready([run], deadline=time.monotonic() + 20) == []
    first = run.containers[0].process
    assert first is not None
    (tmp_path / "web-0" / "volumes" / "tmp" / "sick").touch()
    deadline = time.monotonic() + 20
    while run.restarts == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.restarts == 1, run.describe()
    assert first.poll() is not None
    assert any("liveness probe failed 2 times" in e for e in run.events), run.events
    (tmp_path / "web-0" / "volumes" / "tmp" / "sick").unlink()
    deadline = time.monotonic() + 20
    while not run.ready and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.ready, run.describe()


def test_a_failing_startup_probe_restarts_and_wait_ready_reports_it(
    tmp_path: Path, pods: list[PodRun]
) -> None:
    spec = server_spec([{"name": "SLOW", "value": "30"}])
    spec["containers"][0]["startupProbe"]["failureThreshold"] = 2
    run = pod(spec, tmp_path)
    pods.append(run)
    run.start()
    problems = wait_ready([run], deadline=time.monotonic() + 20)
    assert problems == ["web-0 restarted 1 time(s)"]
    assert "startup probe failed 2 times" in run.describe()


def test_an_exit_is_a_restart_and_the_log_is_in_the_description(
    tmp_path: Path, pods: list[PodRun]
) -> None:
    spec = {"containers": [{"name": "web", "args": ["import sys; print('boom'); sys.exit(3)"]}]}
    run = pod(spec, tmp_path)
    pods.append(run)
    run.start()
    assert wait_ready([run], deadline=time.monotonic() + 10) == ["web-0 restarted 1 time(s)"]
    text = run.describe()
    assert "exit codes=[3]" in text
    assert "boom" in text


def test_a_run_to_completion_pod_succeeds_or_fails(tmp_path: Path, pods: list[PodRun]) -> None:
    ok = pod({"restartPolicy": "Never", "containers": [{"name": "t", "args": ["pass"]}]}, tmp_path)
    bad = pod(
        {"restartPolicy": "Never", "containers": [{"name": "t", "args": ["raise SystemExit(1)"]}]},
        tmp_path,
        name="t-1",
    )
    pods.extend([ok, bad])
    ok.start()
    bad.start()
    assert ok.wait_completed(10) == "Succeeded"
    assert bad.wait_completed(10) == "Failed"
    assert ok.restarts == bad.restarts == 0


def test_stopping_leaves_no_process_behind(tmp_path: Path) -> None:
    """A container that ignores SIGTERM and has a child of its own: both gone after stop()."""
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    pid_file = tmp_path / "child.pid"
    spec = {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "web", "command": [PYTHON, "-c", code, str(pid_file)]}],
    }
    run = pod(spec, tmp_path)
    run.start()
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    main = run.containers[0].process
    assert main is not None
    child = int(pid_file.read_text())
    run.stop()
    assert main.poll() is not None
    deadline = time.monotonic() + 5
    while not gone(child):
        assert time.monotonic() < deadline, f"process {child} outlived its pod"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """No such process, or only its zombie (dead, waiting to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status
