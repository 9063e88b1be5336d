"""pypod: a daemonless OCI container engine for Python.

The library front door::

    import pypod
    engine = pypod.Engine(root="/tmp/r", runroot="/tmp/rr")
    ctr = engine.run("busybox", ["echo", "hi"])

Names are imported lazily so that `pypod exec` on the command line pays
only for what it uses.
"""

__version__ = "0.1.0"

__all__ = ["Engine", "ContainerConfig", "errors"]


def __getattr__(name):
    if name == "Engine":
        from .engine.engine import Engine

        return Engine
    if name == "ContainerConfig":
        from .engine.container import ContainerConfig

        return ContainerConfig
    if name == "errors":
        from . import errors

        return errors
    raise AttributeError(name)
