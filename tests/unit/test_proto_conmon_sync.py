import pytest

from pypod.errors import CommandNotFound, OCIRuntimeError
from pypod.proto.conmon_sync import (SyncProtocolError, SyncReader, exit_code_from_message, parse_sync_line,
                                      pid_from_message, runtime_log_error)


@pytest.mark.parametrize("line,want", [
    (b'{"data": 1234}', (1234, None)),
    (b'{"data": -1, "message": "runc failed"}', (-1, "runc failed")),
    (b'{"data": 0}\n', (0, None)),
    (b'{"pid": 42}', (42, None)),
    (b'{"exit_code": 3}', (3, None)),
    (b'{"data": -2, "message": "a\\nb \\"q\\""}', (-2, 'a\nb "q"')),
    # g_strescape dialect of older conmons: octal and \v are not JSON
    (b'{"data": -1, "message": "caf\\303\\251 \\v"}', (-1, "caf\u00e9 \v")),
    (b'{"data": 5, "message": ""}', (5, None)),
])
def test_parse_line(line, want):
    assert parse_sync_line(line) == want


@pytest.mark.parametrize("line", [b"garbage", b"[1]", b'{"other": 1}', b'{"data": "x"}', b'{"data": true}'])
def test_parse_bad(line):
    with pytest.raises(SyncProtocolError):
        parse_sync_line(line)


def test_reader_split_chunks():
    wire = b'{"data": 77}\n{"data": 0, "message": "exited"}\n'
    for size in (1, 3, len(wire)):
        r = SyncReader()
        got = []
        for i in range(0, len(wire), size):
            got += r.feed(wire[i:i + size])
        assert got == [(77, None), (0, "exited")]
        assert r.close() == []


def test_reader_close_without_newline():
    r = SyncReader()
    assert r.feed(b'{"data": 9}') == []
    assert r.close() == [(9, None)]


RUNC_LOG = (
    '{"level":"warning","msg":"not important","time":"2024-01-01T00:00:00Z"}\n'
    '{"level":"error","msg":"first","time":"2024-01-01T00:00:00Z"}\n'
    'not json\n'
    '{"level":"error","msg":"exec: \\"nope\\": executable file not found in $PATH","time":"x"}\n'
    '{"level":"info","msg":"later info","time":"x"}\n'
)


def test_runtime_log_error():
    assert runtime_log_error(RUNC_LOG) == 'exec: "nope": executable file not found in $PATH'
    assert runtime_log_error(RUNC_LOG.encode()) == 'exec: "nope": executable file not found in $PATH'
    assert runtime_log_error("") is None
    assert runtime_log_error(None) is None
    assert runtime_log_error('{"level":"info","msg":"x"}') is None


def test_pid_from_message():
    assert pid_from_message((1234, None)) == 1234
    assert pid_from_message((1234, None), RUNC_LOG) == 1234
    with pytest.raises(CommandNotFound):
        pid_from_message((-1, "conmon words"), RUNC_LOG)
    with pytest.raises(OCIRuntimeError) as e:
        pid_from_message((-1, "runc create failed: boom"))
    assert "runc create failed: boom" in str(e.value)
    with pytest.raises(OCIRuntimeError, match=r"container create failed \(no logs from conmon\)"):
        pid_from_message(None)
    with pytest.raises(OCIRuntimeError, match="container create failed"):
        pid_from_message((-1, None))
    with pytest.raises(CommandNotFound):
        pid_from_message(None, RUNC_LOG)


def test_exit_code():
    assert exit_code_from_message((137, None)) == 137
    with pytest.raises(OCIRuntimeError):
        exit_code_from_message(None)
