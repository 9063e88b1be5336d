"""/etc/hosts and resolv.conf read addresses through the C parser
(socket.inet_pton), not the ipaddress module: the same verdicts."""

from __future__ import annotations

import ipaddress

from hypothesis import given, strategies as st

from pypod.network.etcfiles import _is_loopback, _packed, parse_hosts

CASES = ["127.0.0.1", "127.1.2.3", "10.0.0.1", "::1", "0::1", "::", "fe80::1%eth0", "fe80::1%", "::1%lo",
         "::ffff:127.0.0.1", "::ffff:1.2.3.4", "2001:db8::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1.2.3",
         "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.4 ", "", "abc", "1.2.3.4%x", "\u0661.2.3.4", "localhost"]


def _std(text: str) -> tuple[bool, bool]:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False, False
    return True, addr.is_loopback


def _mine(text: str) -> tuple[bool, bool]:
    return _packed(text) is not None, _is_loopback(text)


def test_the_same_verdicts_as_ipaddress():
    for text in CASES:
        assert _mine(text) == _std(text), text


@given(st.one_of(st.ip_addresses().map(str), st.text(alphabet="0123456789abcdef:.%", max_size=45)))
def test_the_same_verdicts_on_any_address_like_text(text):
    assert _mine(text) == _std(text)


def test_hosts_lines_with_no_address_are_dropped():
    text = "127.0.0.1 localhost\n::1 ip6-localhost # comment\nnot-an-ip name\n10.0.0.300 bad\n# 1.2.3.4 gone\n"
    assert parse_hosts(text) == [("127.0.0.1", ["localhost"]), ("::1", ["ip6-localhost"])]
