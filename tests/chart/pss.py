"""The restricted Pod Security Standard (Kubernetes' pod-security admission, profile `restricted`,
latest version) as a check of one pod spec, for the chart tests.

https://kubernetes.io/docs/concepts/security/pod-security-standards/ lists the fields; each check
below names the control it implements. Pod-level settings count for a container that leaves them
unset, as the admission controller counts them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# Volume types the restricted profile allows.
ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
# Baseline: sysctls that are safe (namespaced, isolated).
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            yield f"{field}[{container.get('name')}]", container


def restricted_violations(spec: Mapping[str, Any]) -> list[str]:
    """What in a PodSpec the restricted profile forbids ([] = admitted)."""
    out: list[str] = []
    pod = spec.get("securityContext") or {}
    # Baseline: host namespaces, host paths, host ports, privileged, capabilities, sysctls.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"{field} is true")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            out.append(f"volume {volume['name']} is a hostPath")
        if not kinds <= ALLOWED_VOLUME_TYPES:
            out.append(f"volume {volume['name']} has a disallowed type {sorted(kinds)}")
    for sysctl in pod.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(f"unsafe sysctl {sysctl.get('name')}")
    if (pod.get("seLinuxOptions") or {}).get("type") not in (
        None,
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ):
        out.append("pod seLinuxOptions.type is not a container type")
    if (pod.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
        out.append("pod appArmorProfile is not RuntimeDefault or Localhost")
    # Restricted: running as non-root, never as UID 0, a seccomp profile.
    if pod.get("runAsUser") == 0:
        out.append("pod runAsUser is 0")
    pod_seccomp = (pod.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in ("RuntimeDefault", "Localhost"):
        out.append(f"pod seccompProfile.type is {pod_seccomp}")
    for where, container in _containers(spec):
        security = container.get("securityContext") or {}
        if security.get("privileged"):
            out.append(f"{where} is privileged")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"{where} uses hostPort {port['hostPort']}")
        if security.get("procMount") not in (None, "Default"):
            out.append(f"{where} procMount is {security['procMount']}")
        if (security.get("seLinuxOptions") or {}).get("type") not in (
            None,
            "",
            "container_t",
            "container_init_t",
            "container_kvm_t",
            "container_engine_t",
        ):
            out.append(f"{where} seLinuxOptions.type is not a container type")
        if security.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where} does not set allowPrivilegeEscalation: false")
        non_root = security.get("runAsNonRoot", pod.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"{where} does not run with runAsNonRoot: true")
        if security.get("runAsUser") == 0:
            out.append(f"{where} runAsUser is 0")
        seccomp = (security.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{where} has no RuntimeDefault or Localhost seccomp profile")
        capabilities = security.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            out.append(f"{where} does not drop ALL capabilities")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            out.append(f"{where} adds capabilities {sorted(added)}")
    return out


def pod_specs(objs: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> Iterator[tuple[str, Any]]:
    """Every pod spec among rendered objects: Pods and the templates of workload controllers."""
    for obj in objs:
        kind = obj["kind"]
        where = f"{kind}/{obj['metadata']['name']}"
        if kind == "Pod":
            yield where, obj["spec"]
        elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield where, obj["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield where, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
