"""`inspect` output in podman's JSON shape (the fields podman's own tools read)."""

from __future__ import annotations

from ..proto.humanize import rfc3339
from .status import Status


def status_word(status: Status) -> str:
    """podman prints 'exited' for both stopped and cleaned-up containers."""
    if status in (Status.STOPPED, Status.EXITED):
        return "exited"
    if status == Status.CONFIGURED:
        return "created"
    return status.value


def pod_of(ctr):
    """The container's pod, or None (also when the pod is gone)."""
    if not ctr.config.pod:
        return None
    from ..errors import NoSuchPod

    try:
        return ctr.engine.pods.get(ctr.config.pod)
    except NoSuchPod:
        return None


def inspect_container(ctr) -> dict:
    cfg, st = ctr.config, ctr.state
    from ..proto.signals import signal_name
    from ..network import report

    net = cfg.networking
    pod = pod_of(ctr)
    live = None
    if cfg.network == "bridge" and st.status in (Status.RUNNING, Status.PAUSED, Status.CREATED):
        from ..network.sandbox import live as live_sandbox

        live = live_sandbox(ctr.engine, ctr.id)

    from .inspect_settings import add_settings

    data = {
        "Id": ctr.id,
        "Created": rfc3339(cfg.created),
        "Path": cfg.args[0] if cfg.args else "",
        "Args": cfg.args[1:],
        "State": {
            "OciVersion": "1.0.2-dev",
            "Status": status_word(st.status),
            "Running": st.status == Status.RUNNING,
            "Paused": st.status == Status.PAUSED,
            "Restarting": False,
            "OOMKilled": st.oom_killed,
            "Dead": False,
            "Pid": st.pid,
            "ConmonPid": st.conmon_pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": rfc3339(st.started_at),
            "FinishedAt": rfc3339(st.finished_at),
        },
        "Image": cfg.image_id,
        "ImageName": cfg.image_shown,
        "Rootfs": cfg.rootfs,
        "ResolvConfPath": f"{ctr.paths.userdata}/resolv.conf",
        "HostnamePath": f"{ctr.paths.userdata}/hostname",
        "HostsPath": f"{ctr.paths.userdata}/hosts",
        "StaticDir": ctr.paths.userdata,
        "OCIRuntime": ctr.engine.config.runtime,
        "ConmonPidFile": ctr.paths.conmon_pidfile,
        "Name": cfg.name,
        "RestartCount": st.restart_count,
        "Driver": "overlay",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": ctr.engine.store.container_exec_ids(ctr.id),
        "Mounts": [
            {
                "Type": "volume" if not m.source.startswith("/") or "/volumes/" in m.source else "bind",
                "Source": m.source,
                "Destination": m.destination,
                "Options": m.options,
                "RW": "ro" not in m.options,
                "Propagation": "rprivate",
            }
            for m in cfg.mounts
        ],
        "Config": {
            "Hostname": cfg.hostname,
            "User": cfg.user,
            "Env": cfg.env,
            "Cmd": cfg.command,
            "Image": cfg.image_shown,
            "WorkingDir": cfg.workdir or "/",
            "Entrypoint": " ".join(cfg.entrypoint),
            "Labels": cfg.labels,
            "Tty": cfg.tty,
            "OpenStdin": cfg.stdin,
            "StdinOnce": False,
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "StopSignal": signal_name(cfg.stop_signal),
            "StopTimeout": cfg.stop_timeout,
            "CreateCommand": cfg.create_command or None,
        },
        "HostConfig": {
            "Binds": [f"{m.source}:{m.destination}" + (":" + ",".join(m.options) if m.options else "") for m in cfg.mounts],
            "NetworkMode": f"container:{pod.infra_id}" if cfg.network == "pod" and pod else cfg.network,
            "PortBindings": report.port_bindings(net.ports, net.expose),
            "PublishAllPorts": net.publish_all,
            "Dns": net.dns_servers,
            "DnsOptions": net.dns_options,
            "DnsSearch": net.dns_search,
            "ExtraHosts": net.add_hosts,
            "Privileged": cfg.privileged,
            "ReadonlyRootfs": cfg.read_only,
            "CapAdd": cfg.cap_add,
            "CapDrop": cfg.cap_drop,
            "AutoRemove": cfg.auto_remove,
            "LogConfig": {"Type": cfg.log_driver, "Config": None, "Path": ctr.paths.log, "Tag": cfg.log_tag, "Size": "0B" if cfg.log_size_max < 0 else str(cfg.log_size_max)},
            "Ulimits": [{"Name": f"RLIMIT_{n.upper()}", "Soft": s, "Hard": h} for n, s, h in cfg.ulimits],
            "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
        },
        "NetworkSettings": report.network_settings(ctr, live, ctr.engine.config.network.default_network),
        "Pod": cfg.pod,
        "IsInfra": pod is not None and pod.infra_id == ctr.id,
    }
    add_settings(data, ctr)
    return data
