"""Which addresses need the token, and the URL `autoplug ui` prints (autoplug.ui.gate, .server)."""

from __future__ import annotations

import socket

import pytest

from autoplug.ui.gate import needs_token, new_token
from autoplug.ui.server import Bound


@pytest.mark.parametrize(
    ("address", "needed"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("127.0.0.2", True),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.5", True),
    ],
)
def test_only_127_0_0_1_and_ipv6_loopback_go_without_a_token(address, needed):
    assert needs_token(address) is needed


def test_tokens_are_fresh_and_url_safe():
    tokens = {new_token() for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) == 32 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


@pytest.mark.parametrize(
    ("address", "token", "url"),
    [
        ("127.0.0.1", None, "http://127.0.0.1:8484/runs"),
        ("::1", None, "http://[::1]:8484/runs"),
        ("127.0.0.2", "abc", "http://127.0.0.2:8484/runs?token=abc"),
        ("0.0.0.0", "abc", f"http://{socket.gethostname()}:8484/runs?token=abc"),
    ],
)
def test_the_printed_url_is_one_a_browser_can_open(address, token, url):
    with socket.socket() as unused:
        assert Bound(unused, address, 8484, token).url == url
