"""Exec sessions of a container (seeds 003, 001, 000)."""

from __future__ import annotations


def on_container_stopped(ctr) -> None:
    """A container that stops takes its exec sessions with it."""
    for sid, _cfg, state in ctr.engine.store.container_execs(ctr.id):
        if state.get("status") == "running":
            state["status"] = "stopped"
            ctr.engine.store.save_exec_state(sid, state)


def remove_all(ctr) -> None:
    for sid, _cfg, _state in ctr.engine.store.container_execs(ctr.id):
        ctr.engine.store.remove_exec(sid)


def cleanup_session(ctr, session_id: str) -> None:
    pass
