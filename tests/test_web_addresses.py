"""The address rules of browse_url and the [web] settings they come from."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from web_server import write_web_config

from autoplug import ConfigError
from autoplug_builtins.web.addresses import AddressRefused, refusal, resolve_checked
from autoplug_builtins.web.settings import load_settings

LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12::1", "a private address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "a private address"),  # NAT64 around 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused_by_default(address, reason):
    assert refusal(ipaddress.ip_address(address), False) == reason


@pytest.mark.parametrize("address", ["100.64.0.1", "240.0.0.1", "192.0.2.1", "198.18.0.1"])
def test_shared_reserved_and_documentation_ranges_are_refused(address):
    # Which word fits these ranges differs across Python versions; that they are refused does not.
    assert refusal(ipaddress.ip_address(address), False) is not None
    assert refusal(ipaddress.ip_address(address), True) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("168.63.129.16", "a cloud metadata address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
    ],
)
def test_metadata_unspecified_and_multicast_are_refused_even_when_private_is_allowed(
    address, reason
):
    assert refusal(ipaddress.ip_address(address), True) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert refusal(ipaddress.ip_address(address), False) is None


def test_allow_private_true_allows_every_non_public_address():
    for address in ("127.0.0.1", "10.0.0.1", "fe80::1", "192.168.0.10"):
        assert refusal(ipaddress.ip_address(address), True) is None


def test_allow_private_networks_allow_only_those():
    assert refusal(ipaddress.ip_address("127.0.0.1"), LOOPBACK_ONLY) is None
    assert refusal(ipaddress.ip_address("::1"), LOOPBACK_ONLY) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), LOOPBACK_ONLY) == "a private address"


def test_resolving_localhost_by_name_is_refused_naming_the_address():
    with pytest.raises(AddressRefused) as caught:
        asyncio.run(
            resolve_checked("http://localhost/", "localhost", 80, allow_private=False, timeout_s=2)
        )
    message = str(caught.value)
    assert "refused http://localhost/" in message and "a loopback address" in message
    assert "allow_private" in message


def test_resolving_checks_every_address_and_keeps_them():
    endpoints = asyncio.run(
        resolve_checked(
            "http://127.0.0.1/", "127.0.0.1", 80, allow_private=LOOPBACK_ONLY, timeout_s=2
        )
    )
    assert [e.address for e in endpoints] == ["127.0.0.1"]


# -- settings ---------------------------------------------------------------------


def test_settings_defaults_apply_without_a_config_file(isolated_home):
    settings = load_settings()
    assert settings.allow_private is False and settings.search_url is None
    assert settings.timeout_s == 15 and settings.max_bytes == 2_000_000
    assert settings.config_path == isolated_home / "config.toml"
    assert not settings.config_path.exists()  # reading never creates the file


def test_settings_read_the_web_table(isolated_home):
    write_web_config(
        isolated_home,
        allow_private=["127.0.0.0/8"],
        search_url=" http://localhost:8888/ ",
        timeout_s=2.5,
        max_bytes=1000,
    )
    settings = load_settings()
    assert settings.allow_private == (ipaddress.ip_network("127.0.0.0/8"),)
    assert settings.search_url == "http://localhost:8888/"
    assert settings.timeout_s == 2.5 and settings.max_bytes == 1000


def test_empty_search_url_means_not_configured(isolated_home):
    write_web_config(isolated_home, search_url="")
    assert load_settings().search_url is None


@pytest.mark.parametrize(
    ("key", "value", "fault"),
    [
        ("allow_private", "yes", "allow_private must be true, false or a list"),
        ("allow_private", ["not-a-net"], "'not-a-net' is not a network"),
        ("timeout_s", 0, "timeout_s must be a number > 0"),
        ("timeout_s", True, "timeout_s must be a number > 0"),
        ("max_bytes", 1.5, "max_bytes must be a whole number >= 1"),
        ("max_bytes", -1, "max_bytes must be a whole number >= 1"),
        ("search_url", "localhost:8888", "search_url must be an http:// or https:// URL"),
    ],
)
def test_bad_settings_name_the_file_and_key(isolated_home, key, value, fault):
    path = write_web_config(isolated_home, **{key: value})
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert str(path) in message and f"[web] {key}" in message and fault in message
