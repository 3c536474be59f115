"""A rendered Pod spec as local processes, run the way a kubelet runs it: a reusable harness.

`Cluster` holds what the API server would (the namespace, ConfigMaps, Secrets, the Services' names
and the pod IPs behind them); `PodRun` takes one pod spec and

- builds each container's environment as the kubelet does: the image's ENV, then `envFrom`
  (configMapRef/secretRef, with prefix), then `env` (value with `$(VAR)` expansion,
  configMapKeyRef, secretKeyRef, fieldRef as the downward API fills it, resourceFieldRef); a
  missing non-optional reference is the kubelet's CreateContainerConfigError (`PodConfigError`);
- materialises the pod's volumes (configMap, secret, emptyDir, projected, downwardAPI) under the
  pod's own directory, with items, paths and modes as declared;
- runs `command`/`args` as rendered (`$(VAR)` expanded), or the image's entrypoint when the
  container has none, as one process per container in a session of its own that dies with the
  harness (PR_SET_PDEATHSIG), logs to a file;
- executes the declared probes as the kubelet does (`grpc` Health/Check with the probe's `service`
  field, `httpGet`, `tcpSocket`, `exec`), with initialDelaySeconds, periodSeconds, timeoutSeconds,
  successThreshold and failureThreshold: the startupProbe first (liveness and readiness wait for
  it), then readiness (Ready or not) and liveness on their own periods; a startup or liveness
  failure past failureThreshold, or an exit, restarts the container (restartPolicy Always, with
  the kubelet's doubling back-off) and counts the restart.

Where this departs from a cluster, and nothing else does (everything else is the rendered spec):

1. Mount paths. A process here sees the host's file system, so every absolute path in an env
   value, a command or an arg that lies inside a volumeMount's mountPath is rewritten to where
   that volume was materialised (longest mountPath wins; subPath honoured). A path inside one of
   the image's own directories (`ImageConfig.rootfs_dirs`, e.g. /data, which a container sees on
   its read-only root file system) is rewritten to a per-pod copy of that directory. A path is
   recognised as a whole value or as a token after `=`, `:`, `,`, `;`, whitespace or a URL's
   `:///` (as in `sqlite:////data/intake.sqlite`), and only when it equals the directory or
   continues with `/`. The image's programs are this machine's virtual environment
   (`IMAGE_ROOTS`): a path inside it is never rewritten, wherever the checkout lives (a checkout
   under /tmp must not turn the interpreter into a path inside a pod's /tmp emptyDir).
2. Cluster DNS. Each pod gets its own loopback IP (Linux routes all of 127/8 to lo).
   `Cluster.dns` maps a Service (by name and namespace) to the IP of the pod behind it. In env
   values, `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local` (the bare
   name and `<svc>.<ns>` forms only for the pod's own namespace where the cluster's search path
   would resolve them) are rewritten to that IP where they stand as a host: after `://` or `@`,
   or before `:<port>`, or as the whole value of a variable whose name ends in HOST. The same
   word elsewhere (e.g. a caller id equal to a Service's name) is left alone. A bind address
   `0.0.0.0` (the whole value, or before `:<port>`) becomes the pod's IP, so that pods do not
   collide on ports.
3. The process runs as the harness's user, with the host's kernel view: the securityContext
   (runAsUser, readOnlyRootFilesystem, capabilities, seccomp) and resource limits are not
   enforced, and there is no network isolation (NetworkPolicies are not applied).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import math
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# The "image": this machine's Python and virtual environment, whose files a pod runs (departure 1).
IMAGE_ROOTS = tuple(
    dict.fromkeys(
        str(Path(p)) for p in (sys.prefix, sys.base_prefix, Path(sys.executable).parent) if p
    )
)

CLUSTER_DOMAIN = "cluster.local"
# The kubelet's crash-loop back-off: 10 s, doubled per restart, at most 5 minutes.
BACKOFF_START = 10.0
BACKOFF_MAX = 300.0
# How long a stopped container may take to exit before SIGKILL, at most (the pod's
# terminationGracePeriodSeconds when shorter).
STOP_GRACE_MAX = 15.0
LOG_TAIL_LINES = 60
# wait_ready: once a pod has restarted, how much longer the others get to become Ready or fail.
RESTART_GRACE = 8.0


class PodConfigError(Exception):
    """The kubelet could not create the container (CreateContainerConfigError): a referenced
    ConfigMap, Secret or key does not exist, or a volume source is not supported here."""


@dataclass(frozen=True)
class ImageConfig:
    """What the container image contributes: ENTRYPOINT, CMD, ENV, WORKDIR, and the image's own
    directories a process may be pointed at (rewritten to a per-pod copy)."""

    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = "/"
    rootfs_dirs: tuple[str, ...] = ()


@dataclass
class Cluster:
    """The API server's view the kubelet reads from."""

    namespace: str
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    # (service name, namespace) -> IP of the pod behind it.
    dns: dict[tuple[str, str], str] = field(default_factory=dict)

    def host_names(self, pod_namespace: str) -> dict[str, str]:
        """Every name a pod in `pod_namespace` could resolve to a Service, -> IP."""
        names: dict[str, str] = {}
        for (service, namespace), ip in self.dns.items():
            names[f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"] = ip
            names[f"{service}.{namespace}.svc"] = ip
            names[f"{service}.{namespace}"] = ip
            if namespace == pod_namespace:
                names[service] = ip
        return names

    def rewrite_hosts(self, name: str, value: str, pod_namespace: str, pod_ip: str) -> str:
        """Departure 2 (module docstring): Service host names and 0.0.0.0 in one env value."""
        if value == "0.0.0.0":
            return pod_ip
        value = re.sub(r"^0\.0\.0\.0(?=:\d)", pod_ip, value)
        names = self.host_names(pod_namespace)
        if not names:
            return value
        if name.upper().endswith("HOST") and value in names:
            return names[value]
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        pattern = re.compile(
            rf"(?:(?<=://)|(?<=@))({alternatives})(?![A-Za-z0-9.-])"
            rf"|(?<![A-Za-z0-9.-])({alternatives})(?=:\d)"
        )
        return pattern.sub(lambda m: names[m.group(1) or m.group(2)], value)


# Processes die with the harness even when it is killed (PR_SET_PDEATHSIG through util-linux's
# setpriv, which then execs the command: no fork handlers run in a process full of gRPC threads,
# as they would with a preexec_fn).
SETPRIV = shutil.which("setpriv")


def dies_with_parent(argv: Sequence[str]) -> list[str]:
    return [SETPRIV, "--pdeathsig", "KILL", "--", *argv] if SETPRIV else list(argv)


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined variables are replaced, `$$` escapes, anything
    else is kept as written."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", one, text)


def _quantity(text: str) -> float:
    """A Kubernetes resource quantity (e.g. 500m, 1Gi, 2) as a number."""
    suffixes = {
        "m": 1e-3,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
    }
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    if not match or match.group(2) not in {"", *suffixes}:
        raise PodConfigError(f"unreadable resource quantity {text!r}")
    return float(match.group(1)) * suffixes.get(match.group(2), 1.0)


@dataclass
class Probe:
    kind: str  # startup | readiness | liveness
    spec: Mapping[str, Any]

    @property
    def initial_delay(self) -> float:
        return float(self.spec.get("initialDelaySeconds", 0))

    @property
    def period(self) -> float:
        return float(self.spec.get("periodSeconds", 10))

    @property
    def timeout(self) -> float:
        return float(self.spec.get("timeoutSeconds", 1))

    @property
    def failure_threshold(self) -> int:
        return int(self.spec.get("failureThreshold", 3))

    @property
    def success_threshold(self) -> int:
        return int(self.spec.get("successThreshold", 1))

    def describe(self) -> str:
        for handler in ("grpc", "httpGet", "tcpSocket", "exec"):
            if handler in self.spec:
                return f"{handler} {dict(self.spec[handler])}"
        return "no handler"


class ContainerRun:
    """One container of a pod: its process, restarts and probe state."""

    def __init__(self, pod: PodRun, spec: Mapping[str, Any], image: ImageConfig) -> None:
        self.pod = pod
        self.spec = spec
        self.name: str = spec["name"]
        self.image = image
        self.log_path = pod.root / "logs" / f"{self.name}.log"
        self.env = pod.container_env(spec, image)
        self.argv = pod.container_argv(spec, image, self.env)
        self.workdir = pod.host_path(spec.get("workingDir") or image.workdir, create_dir=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.exit_codes: list[int] = []
        self.started = False
        self.ready = False
        # The exit code once the container has run to completion (restartPolicy Never/OnFailure).
        self.terminated: int | None = None
        self.lock = threading.Lock()
        self.probes = {
            kind: Probe(kind, spec[f"{kind}Probe"])
            for kind in ("startup", "readiness", "liveness")
            if spec.get(f"{kind}Probe")
        }

    # -- process ---------------------------------------------------------------------------

    def start_process(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- podrun: start #{self.restarts} {shlex.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                dies_with_parent(self.argv),
                env=dict(self.env),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = "startup" not in self.probes
        self.ready = False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, grace: float) -> None:
        """SIGTERM to the container's whole session, SIGKILL after `grace` seconds."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace)
        # Whatever is left of the session (the main process or anything it started).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    # -- probes ----------------------------------------------------------------------------

    def port(self, port: Any) -> int:
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for declared in self.spec.get("ports", []):
            if declared.get("name") == port:
                return int(declared["containerPort"])
        raise PodConfigError(f"{self.name}: probe names port {port!r}, which is not declared")

    def run_probe(self, probe: Probe) -> tuple[bool, str]:
        """One probe attempt: (success, what happened)."""
        spec = probe.spec
        ip = self.pod.ip
        try:
            if "grpc" in spec:
                service = str(spec["grpc"].get("service") or "")
                target = f"{ip}:{self.port(spec['grpc']['port'])}"
                with grpc.insecure_channel(target) as channel:
                    response = health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(service=service), timeout=probe.timeout
                    )
                status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
                return response.status == health_pb2.HealthCheckResponse.SERVING, (
                    f"grpc {target} service={service!r}: {status}"
                )
            if "httpGet" in spec:
                get = spec["httpGet"]
                host = get.get("host") or ip
                port = self.port(get["port"])
                path = expand(str(get.get("path", "/")), self.env)
                connection: http.client.HTTPConnection
                if str(get.get("scheme", "HTTP")).upper() == "HTTPS":
                    connection = http.client.HTTPSConnection(
                        host,
                        port,
                        timeout=probe.timeout,
                        context=ssl._create_unverified_context(),
                    )
                else:
                    connection = http.client.HTTPConnection(host, port, timeout=probe.timeout)
                try:
                    headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
                    headers.setdefault("User-Agent", "kube-probe/1.33")
                    connection.request("GET", path, headers=headers)
                    status_code = connection.getresponse().status
                finally:
                    connection.close()
                return 200 <= status_code < 400, f"http GET {host}:{port}{path}: {status_code}"
            if "tcpSocket" in spec:
                host = spec["tcpSocket"].get("host") or ip
                port = self.port(spec["tcpSocket"]["port"])
                with socket.create_connection((host, port), timeout=probe.timeout):
                    return True, f"tcp {host}:{port}: open"
            if "exec" in spec:
                command = [expand(str(c), self.env) for c in spec["exec"]["command"]]
                done = subprocess.run(
                    [self.pod.rewrite_paths(c) for c in command],
                    env=dict(self.env),
                    cwd=self.workdir,
                    capture_output=True,
                    timeout=probe.timeout,
                    check=False,
                )
                return done.returncode == 0, f"exec {command}: exit {done.returncode}"
        except grpc.RpcError as error:
            return False, f"grpc: {error.code().name} {error.details()}"
        except subprocess.TimeoutExpired:
            return False, f"exec timed out after {probe.timeout}s"
        except OSError as error:
            return False, f"{type(error).__name__}: {error}"
        return False, "probe has no handler"

    # -- the kubelet's loop ----------------------------------------------------------------

    def supervise(self, stopping: threading.Event) -> None:
        """Start the container, probe it, restart it when it exits or fails its startup or
        liveness probe, until `stopping` is set."""
        backoff = BACKOFF_START
        try:
            self._supervise(stopping, backoff)
        finally:
            # Here, not in another thread: the process dies with the thread that started it.
            self.kill(self.pod.grace)

    def _supervise(self, stopping: threading.Event, backoff: float) -> None:
        policy = self.pod.spec.get("restartPolicy", "Always")
        while not stopping.is_set():
            self.start_process()
            reason = self._probe_until_restart(stopping)
            if stopping.is_set():
                return
            code = self.process.returncode if self.process is not None else None
            if code is not None and (policy == "Never" or (policy == "OnFailure" and code == 0)):
                self.terminated = code
                self.pod.event(f"{self.name}: terminated with code {code} (restartPolicy {policy})")
                return
            with self.lock:
                self.restarts += 1
                self.ready = False
                self.started = False
            self.pod.event(f"{self.name}: restart #{self.restarts} ({reason})")
            if stopping.wait(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _probe_until_restart(self, stopping: threading.Event) -> str:
        begun = time.monotonic()
        due = {kind: begun + probe.initial_delay for kind, probe in self.probes.items()}
        failures = dict.fromkeys(self.probes, 0)
        successes = dict.fromkeys(self.probes, 0)
        assert self.process is not None
        while not stopping.is_set():
            code = self.process.poll()
            if code is not None:
                self.exit_codes.append(code)
                self.pod.event(f"{self.name}: exited with code {code}")
                return f"exit code {code}"
            now = time.monotonic()
            kinds = ("startup",) if not self.started else ("readiness", "liveness")
            for kind in kinds:
                probe = self.probes.get(kind)
                if probe is None or now < due[kind]:
                    continue
                ok, detail = self.run_probe(probe)
                due[kind] = max(due[kind] + probe.period, time.monotonic())
                if ok:
                    failures[kind] = 0
                    successes[kind] += 1
                else:
                    successes[kind] = 0
                    failures[kind] += 1
                    self.pod.event(f"{self.name}: {kind} probe failed: {detail}")
                if kind == "startup" and ok:
                    self.started = True
                    self.pod.event(f"{self.name}: started ({detail})")
                    for other in ("readiness", "liveness"):
                        if other in self.probes:
                            due[other] = max(begun + self.probes[other].initial_delay, now)
                elif kind == "readiness":
                    if ok and successes[kind] >= probe.success_threshold and not self.ready:
                        self.ready = True
                        self.pod.event(f"{self.name}: ready ({detail})")
                    elif not ok and failures[kind] >= probe.failure_threshold and self.ready:
                        self.ready = False
                        self.pod.event(f"{self.name}: not ready")
                if kind in {"startup", "liveness"} and failures[kind] >= probe.failure_threshold:
                    self.kill(self.pod.grace)
                    self.exit_codes.append(self.process.returncode)
                    return f"{kind} probe failed {failures[kind]} times: {detail}"
            if self.started and "readiness" not in self.probes and not self.ready:
                self.ready = True
                self.pod.event(f"{self.name}: ready (no readiness probe)")
            stopping.wait(0.05)
        return "stopping"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class PodRun:
    """One pod (its spec as a Deployment's or StatefulSet's template renders it) on `ip`."""

    def __init__(
        self,
        cluster: Cluster,
        name: str,
        spec: Mapping[str, Any],
        *,
        ip: str,
        root: Path,
        image_config: Callable[[Mapping[str, Any]], ImageConfig],
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        node_name: str = "podrun",
    ) -> None:
        self.cluster = cluster
        self.name = name
        self.namespace = cluster.namespace
        self.spec = spec
        self.ip = ip
        self.root = root
        self.labels = dict(labels or {})
        self.annotations = dict(annotations or {})
        self.node_name = node_name
        self.uid = f"podrun-{name}"
        self.events: list[str] = []
        self.created = time.monotonic()
        self.grace = min(float(spec.get("terminationGracePeriodSeconds", 30)), STOP_GRACE_MAX)
        self.mounts: dict[str, dict[str, tuple[str, str]]] = {}
        self.volume_dirs = self.materialise_volumes()
        self.containers: list[ContainerRun] = []
        for container in spec.get("containers", []):
            self.mounts[container["name"]] = self._mount_table(container)
            self._current = container["name"]
            self.containers.append(ContainerRun(self, container, image_config(container)))
        if spec.get("initContainers"):
            raise PodConfigError(f"{name}: init containers are not supported by this harness")
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def event(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.created:7.2f}s {text}")

    # -- volumes and paths -----------------------------------------------------------------

    def _source_items(
        self, kind: str, name: str, data: Mapping[str, bytes] | None, source: Mapping[str, Any]
    ) -> Iterator[tuple[str, bytes, int | None]]:
        if data is None:
            if source.get("optional"):
                return
            raise PodConfigError(f"{self.name}: {kind} {name!r} not found")
        items = source.get("items")
        if not items:
            for key, value in data.items():
                yield key, value, None
            return
        for item in items:
            if item["key"] not in data:
                if source.get("optional"):
                    continue
                raise PodConfigError(f"{self.name}: {kind} {name!r} has no key {item['key']!r}")
            yield item["path"], data[item["key"]], item.get("mode")

    def _config_map(self, name: str) -> dict[str, bytes] | None:
        data = self.cluster.config_maps.get(name)
        return None if data is None else {k: v.encode() for k, v in data.items()}

    def _write(self, directory: Path, path: str, content: bytes, mode: int) -> None:
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)

    def field_value(self, field_path: str) -> str:
        simple = {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "metadata.uid": self.uid,
            "spec.nodeName": self.node_name,
            "spec.serviceAccountName": str(self.spec.get("serviceAccountName", "default")),
            "status.podIP": self.ip,
            "status.podIPs": self.ip,
            "status.hostIP": "127.0.0.1",
            "status.hostIPs": "127.0.0.1",
        }
        if field_path in simple:
            return simple[field_path]
        match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", field_path)
        if match:
            table = self.labels if match.group(1) == "labels" else self.annotations
            return table.get(match.group(2), "")
        if field_path in {"metadata.labels", "metadata.annotations"}:
            table = self.labels if field_path == "metadata.labels" else self.annotations
            return "\n".join(f'{k}="{v}"' for k, v in sorted(table.items()))
        raise PodConfigError(f"{self.name}: unsupported fieldRef {field_path!r}")

    def resource_value(self, container: Mapping[str, Any], ref: Mapping[str, Any]) -> str:
        resource = str(ref["resource"])
        section, _, kind = resource.partition(".")
        raw = container.get("resources", {}).get(section, {}).get(kind)
        if raw is None:
            raise PodConfigError(f"{self.name}: resourceFieldRef {resource} is not set")
        divisor = _quantity(str(ref.get("divisor", "1")))
        return str(math.ceil(_quantity(str(raw)) / divisor))

    def materialise_volumes(self) -> dict[str, Path]:
        dirs: dict[str, Path] = {}
        for volume in self.spec.get("volumes", []):
            name = volume["name"]
            directory = self.root / "volumes" / name
            directory.mkdir(parents=True, exist_ok=True)
            dirs[name] = directory
            if "emptyDir" in volume:
                continue
            if "configMap" in volume or "secret" in volume:
                self._project(directory, volume, volume.get("configMap", {}).get("defaultMode"))
            elif "projected" in volume:
                projected = volume["projected"]
                for source in projected.get("sources", []):
                    self._project(directory, source, projected.get("defaultMode"))
            elif "downwardAPI" in volume:
                self._project(directory, volume, volume["downwardAPI"].get("defaultMode"))
            else:
                kinds = sorted(set(volume) - {"name"})
                raise PodConfigError(f"{self.name}: volume {name!r} of kind {kinds} unsupported")
        return dirs

    def _project(self, directory: Path, source: Mapping[str, Any], mode: int | None) -> None:
        if "configMap" in source:
            cm = source["configMap"]
            data = self._config_map(cm["name"])
            default = cm.get("defaultMode", mode if mode is not None else 0o644)
            for path, content, item_mode in self._source_items("ConfigMap", cm["name"], data, cm):
                self._write(directory, path, content, item_mode or default)
        elif "secret" in source:
            secret = source["secret"]
            name = secret.get("secretName") or secret.get("name")
            found = self.cluster.secrets.get(name)
            default = secret.get("defaultMode", mode if mode is not None else 0o644)
            for path, content, item_mode in self._source_items("Secret", name, found, secret):
                self._write(directory, path, content, item_mode or default)
        elif "downwardAPI" in source:
            for item in source["downwardAPI"].get("items", []):
                if "fieldRef" in item:
                    value = self.field_value(item["fieldRef"]["fieldPath"])
                else:
                    raise PodConfigError(f"{self.name}: downwardAPI item {item} unsupported")
                self._write(directory, item["path"], value.encode(), item.get("mode") or 0o644)
        elif "serviceAccountToken" in source:
            token = base64.urlsafe_b64encode(os.urandom(32)).decode()
            self._write(directory, source["serviceAccountToken"]["path"], token.encode(), 0o644)
        else:
            raise PodConfigError(f"{self.name}: projected source {sorted(source)} unsupported")

    def _mount_table(self, container: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
        """mountPath -> (host path, volume name) for one container."""
        table: dict[str, tuple[str, str]] = {}
        for mount in container.get("volumeMounts", []):
            volume = mount["name"]
            if volume not in self.volume_dirs:
                raise PodConfigError(f"{self.name}: volumeMount names unknown volume {volume!r}")
            host = self.volume_dirs[volume]
            if mount.get("subPath"):
                host = host / mount["subPath"]
            table[str(mount["mountPath"]).rstrip("/") or "/"] = (str(host), volume)
        return table

    def host_path(self, path: str, *, create_dir: bool = False) -> str:
        """Departure 1 (module docstring): where a container path is on this machine."""
        mounts = self.mounts.get(self._current, {})
        for mount_path in sorted(mounts, key=len, reverse=True):
            if path == mount_path or path.startswith(mount_path + "/"):
                return mounts[mount_path][0] + path[len(mount_path) :]
        for image_dir in self._rootfs_dirs:
            if path == image_dir or path.startswith(image_dir + "/"):
                host = self.root / "rootfs" / image_dir.lstrip("/")
                host.mkdir(parents=True, exist_ok=True)
                return str(host) + path[len(image_dir) :]
        if create_dir:
            host = self.root / "rootfs" / path.lstrip("/")
            host.mkdir(parents=True, exist_ok=True)
            return str(host)
        return path

    _rootfs_dirs: tuple[str, ...] = ()

    def rewrite_paths(self, value: str) -> str:
        """Departure 1: each mountPath or image directory standing as a path in `value`."""
        prefixes = [*self.mounts.get(self._current, {}), *self._rootfs_dirs]
        if not prefixes:
            return value
        alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        pattern = rf"(?:^|(?<=[=:,;\s])|(?<=:///))(?:{alternatives})(?=/|$|[\s:,;])"

        def rewrite(match: re.Match[str]) -> str:
            path = re.split(r"[\s:,;]", value[match.start() :], maxsplit=1)[0]
            if any(path == root or path.startswith(root + "/") for root in IMAGE_ROOTS):
                return match.group(0)
            return self.host_path(match.group(0))

        return re.sub(pattern, rewrite, value)

    # -- environment and command -----------------------------------------------------------

    def container_env(self, container: Mapping[str, Any], image: ImageConfig) -> dict[str, str]:
        self._current = container["name"]
        self._rootfs_dirs = image.rootfs_dirs
        env: dict[str, str] = {"HOSTNAME": self.name, **image.env}
        declared: dict[str, str] = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                ref = source["configMapRef"]
                data = self._config_map(ref["name"])
                kind = "ConfigMap"
            else:
                ref = source["secretRef"]
                data = self.cluster.secrets.get(ref["name"])
                kind = "Secret"
            if data is None:
                if ref.get("optional"):
                    continue
                raise PodConfigError(f"{self.name}: envFrom {kind} {ref['name']!r} not found")
            for key, content in data.items():
                declared[prefix + key] = content.decode()
        for var in container.get("env", []):
            name = var["name"]
            if "valueFrom" not in var:
                declared[name] = expand(str(var.get("value", "")), {**env, **declared})
                continue
            source = var["valueFrom"]
            resolved: str | None
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                found = self._config_map(ref["name"])
                raw = None if found is None else found.get(ref["key"])
                resolved = None if raw is None else raw.decode()
                kind = f"ConfigMap {ref['name']!r} key {ref['key']!r}"
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                secret = self.cluster.secrets.get(ref["name"])
                raw = None if secret is None else secret.get(ref["key"])
                resolved = None if raw is None else raw.decode()
                kind = f"Secret {ref['name']!r} key {ref['key']!r}"
            elif "fieldRef" in source:
                ref = source["fieldRef"]
                resolved = self.field_value(str(ref["fieldPath"]))
                kind = "fieldRef"
            elif "resourceFieldRef" in source:
                ref = source["resourceFieldRef"]
                resolved = self.resource_value(container, ref)
                kind = "resourceFieldRef"
            else:
                raise PodConfigError(f"{self.name}: env {name}: unsupported valueFrom {source}")
            if resolved is None:
                if ref.get("optional"):
                    continue
                raise PodConfigError(f"{self.name}: env {name}: {kind} not found")
            declared[name] = resolved
        env.update(declared)
        return {
            name: self.cluster.rewrite_hosts(
                name, self.rewrite_paths(value), self.namespace, self.ip
            )
            for name, value in env.items()
        }

    def container_argv(
        self, container: Mapping[str, Any], image: ImageConfig, env: Mapping[str, str]
    ) -> list[str]:
        """The kubelet's rule: command replaces ENTRYPOINT (and drops CMD), args replace CMD."""
        command = container.get("command")
        args = container.get("args")
        if command:
            argv = [*command, *(args or [])]
        else:
            argv = [*image.entrypoint, *(args if args is not None else image.cmd)]
        if not argv:
            raise PodConfigError(f"{self.name}: no command and the image has no entrypoint")
        return [self.rewrite_paths(expand(str(a), env)) for a in argv]

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        for container in self.containers:
            thread = threading.Thread(
                target=container.supervise,
                args=(self._stopping,),
                name=f"kubelet-{self.name}-{container.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    @property
    def ready(self) -> bool:
        return all(c.ready for c in self.containers)

    @property
    def phase(self) -> str:
        """Running, or Succeeded/Failed once every container has terminated for good."""
        codes = [c.terminated for c in self.containers]
        if any(code is None for code in codes):
            return "Running"
        return "Succeeded" if all(code == 0 for code in codes) else "Failed"

    def wait_completed(self, timeout: float) -> str:
        """For run-to-completion pods (restartPolicy Never): the phase when done or `timeout`."""
        deadline = time.monotonic() + timeout
        while self.phase == "Running" and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.phase

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.containers)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=self.grace + 10)
        for container in self.containers:
            container.kill(self.grace)

    def container(self, name: str) -> ContainerRun:
        return next(c for c in self.containers if c.name == name)

    def describe(self) -> str:
        """What `kubectl describe pod` and `kubectl logs` would show of a failing pod."""
        lines = [
            f"pod {self.name} ip={self.ip} ready={self.ready} restarts={self.restarts}",
            "events:",
            *(f"  {e}" for e in self.events[-25:]),
        ]
        for container in self.containers:
            lines.append(
                f"container {container.name}: started={container.started} "
                f"ready={container.ready} restarts={container.restarts} "
                f"exit codes={container.exit_codes} terminated={container.terminated}"
            )
            lines.append(f"  command: {shlex.join(container.argv)}")
            lines.append(f"--- log of {container.name} (last {LOG_TAIL_LINES} lines):")
            lines.append(container.log_tail())
        return "\n".join(lines)

    def ready_budget(self) -> float:
        """Seconds the kubelet gives a container to start and be Ready before it restarts it:
        the startup probe's delay + period x failureThreshold, then readiness's first chance."""
        budget = 0.0
        for container in self.containers:
            startup = container.probes.get("startup")
            readiness = container.probes.get("readiness")
            need = 0.0
            if startup is not None:
                need += startup.initial_delay + startup.period * startup.failure_threshold
            if readiness is not None:
                need += readiness.initial_delay + readiness.period * readiness.success_threshold
            budget = max(budget, need)
        return budget


def wait_ready(pods: Sequence[PodRun], *, deadline: float | None = None) -> list[str]:
    """Wait until every pod is Ready, any pod restarts, or each pod's ready budget has run out.
    Returns one problem per pod that is not Ready with zero restarts (empty when all are)."""
    end = {
        pod.name: deadline if deadline is not None else pod.created + pod.ready_budget()
        for pod in pods
    }
    while True:
        pending = [p for p in pods if not p.ready and not p.restarts]
        now = time.monotonic()
        if not pending or all(now > end[p.name] for p in pending):
            break
        if any(p.restarts for p in pods):
            # One pod has failed already: give the others a few seconds to show their own fate
            # (the log of every failing pod is worth more than the first one's alone).
            for pod in pods:
                end[pod.name] = min(end[pod.name], now + RESTART_GRACE)
        time.sleep(0.1)
    problems = []
    for pod in pods:
        if pod.restarts:
            problems.append(f"{pod.name} restarted {pod.restarts} time(s)")
        elif not pod.ready:
            problems.append(
                f"{pod.name} not Ready after {time.monotonic() - pod.created:.1f}s "
                f"(budget {end[pod.name] - pod.created:.0f}s)"
            )
    return problems


def stop_all(pods: Iterable[PodRun]) -> None:
    """Stop pods concurrently (each SIGTERM, then SIGKILL after its grace period)."""
    threads = [threading.Thread(target=p.stop, daemon=True) for p in pods]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
