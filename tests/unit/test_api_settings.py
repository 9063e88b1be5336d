"""The REST service's create bodies mapped onto a container's settings
(security, resources, restart, health, logging, init): Docker's HostConfig
and libpod's SpecGenerator."""

import pytest

from pypod.api.docker import config_from_docker
from pypod.api.libpod import config_from_spec
from pypod.errors import InvalidArgument


def docker(hc: dict, **body):
    return config_from_docker({"Image": "busybox", "HostConfig": hc, **body}, "")


def libpod(**spec):
    return config_from_spec({"image": "busybox", **spec})


def test_docker_security_opt():
    sec = docker({"SecurityOpt": ["no-new-privileges", "seccomp=unconfined", "label=disable"]}).security
    assert sec.no_new_privileges and sec.seccomp_profile == "unconfined" and sec.label_options == ["disable"]
    inline = docker({"SecurityOpt": ['seccomp={"defaultAction": "SCMP_ACT_ALLOW"}']}).security
    assert inline.seccomp_profile == "" and inline.seccomp_profile_json.startswith("{")
    with pytest.raises(InvalidArgument):
        docker({"SecurityOpt": ["bogus"]})
    with pytest.raises(InvalidArgument):
        docker({"SecurityOpt": "no-new-privileges"} | {"SecurityOpt": [1]})


def test_libpod_security_fields():
    sec = libpod(seccomp_profile_path="/p.json", no_new_privileges=True, apparmor_profile="unconfined",
                 selinux_opts=["disable"], mask=["/a"], unmask=["ALL"], procfs_opts=["hidepid=2"]).security
    assert (sec.seccomp_profile, sec.no_new_privileges, sec.apparmor_profile) == ("/p.json", True, "unconfined")
    assert (sec.label_options, sec.mask, sec.unmask, sec.proc_opts) == (["disable"], ["/a"], ["ALL"], ["hidepid=2"])
    with pytest.raises(InvalidArgument):
        libpod(mask=[3])
