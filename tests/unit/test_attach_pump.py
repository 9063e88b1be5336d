"""The local attach pump against a stand-in for conmon's end of the attach
socket (a real SOCK_SEQPACKET socketpair): stream routing, byte fidelity,
stdin EOF as a half-close, detach keys."""

import os
import random
import socket
import threading
from types import SimpleNamespace

from pypod.engine.attach import attach_to_socket
from pypod.engine.attach import AttachStreams

FAKE_CTR = SimpleNamespace(engine=SimpleNamespace(config=SimpleNamespace(detach_keys="ctrl-p,ctrl-q")))


def drain(fd, sink):
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        sink.append(chunk)


def collect_stdin(sock, res):
    """conmon's side: take stdin until we half-close, then close."""
    got = bytearray()
    while True:
        m = sock.recv(65536)
        if not m:
            break
        got.extend(m)
    res["data"] = bytes(got)
    sock.close()


def run_pump(conmon_side, stdin_data=None, detach_keys=None, tty=False):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r = None
    if stdin_data is not None:
        in_r, in_w = os.pipe()

        def feed():
            for i in range(0, len(stdin_data), 7777):
                os.write(in_w, stdin_data[i:i + 7777])
            os.close(in_w)

        threading.Thread(target=feed, daemon=True).start()
    outs, errs = [], []
    readers = [threading.Thread(target=drain, args=(out_r, outs)), threading.Thread(target=drain, args=(err_r, errs))]
    for t in readers:
        t.start()
    peer_result = {}
    peer = threading.Thread(target=conmon_side, args=(theirs, peer_result))
    peer.start()
    streams = AttachStreams(stdin=in_r, stdout=out_w, stderr=err_w, detach_keys=detach_keys)
    detached = attach_to_socket(FAKE_CTR, ours, streams, tty=tty, stdin_open=in_r is not None,
                                detach_keys=detach_keys, resize=lambda h, w: None)
    os.close(out_w)
    os.close(err_w)
    peer.join(10)
    for t in readers:
        t.join(10)
    return detached, b"".join(outs), b"".join(errs), peer_result


def test_streams_are_routed_and_whole():
    rng = random.Random(7)
    expected_out, expected_err = bytearray(), bytearray()
    messages = []
    for _ in range(3000):
        data = rng.randbytes(rng.choice((1, 1, 2, 100, 8192)))
        stream = rng.choice((2, 3))
        (expected_out if stream == 2 else expected_err).extend(data)
        messages.append(bytes([stream]) + data)

    def conmon(sock, _res):
        for m in messages:
            sock.send(m)
        sock.close()

    detached, out, err, _ = run_pump(conmon)
    assert not detached
    assert out == bytes(expected_out) and err == bytes(expected_err)


def test_stdin_reaches_conmon_and_eof_is_a_half_close():
    data = os.urandom(1_000_003)

    def conmon(sock, res):
        got = bytearray()
        sizes = []
        while True:
            m = sock.recv(65536)
            if not m:
                break
            sizes.append(len(m))
            got.extend(m)
        res["data"] = bytes(got)
        res["max"] = max(sizes)
        sock.send(b"\x02done")
        sock.close()

    detached, out, _err, res = run_pump(conmon, stdin_data=data)
    assert not detached and out == b"done"
    assert res["data"] == data
    assert res["max"] <= 32 * 1024  # conmon reads at most this per message


def test_detach_keys_stop_the_pump_and_nothing_after_them_is_sent():
    def conmon(sock, res):
        got = bytearray()
        sock.settimeout(5)
        try:
            while True:
                m = sock.recv(65536)
                if not m:
                    break
                got.extend(m)
        except OSError:
            pass
        res["data"] = bytes(got)

    detached, _out, _err, res = run_pump(conmon, stdin_data=b"abc\x10" + b"\x10\x11tail", detach_keys="ctrl-p,ctrl-q")
    assert detached
    assert res["data"] == b"abc\x10"


def test_partial_detach_prefix_at_eof_is_delivered():
    conmon = collect_stdin
    detached, _out, _err, res = run_pump(conmon, stdin_data=b"xyz\x10", detach_keys="ctrl-p,ctrl-q")
    assert not detached
    assert res["data"] == b"xyz\x10"


def test_default_keys_do_not_apply_to_piped_stdin():
    conmon = collect_stdin
    detached, _out, _err, res = run_pump(conmon, stdin_data=b"a\x10\x11b", detach_keys=None)
    assert not detached and res["data"] == b"a\x10\x11b"


def test_empty_detach_keys_disable_detaching():
    conmon = collect_stdin
    detached, _out, _err, res = run_pump(conmon, stdin_data=b"a\x10\x11b", detach_keys="")
    assert not detached and res["data"] == b"a\x10\x11b"


def test_echo_peer_does_not_deadlock():
    """conmon blocks on writing output while we block on writing stdin: the
    pump must keep draining output while stdin waits (`exec -i cat`)."""
    data = os.urandom(4_000_000)

    def conmon(sock, res):
        sock.settimeout(20)
        while True:
            m = sock.recv(65536)
            if not m:
                break
            for i in range(0, len(m), 8192):
                sock.sendall(b"\x02" + m[i:i + 8192])
        sock.close()

    detached, out, _err, _res = run_pump(conmon, stdin_data=data)
    assert not detached
    assert out == data
