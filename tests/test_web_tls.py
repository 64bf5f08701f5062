"""browse_url over https: the checked address is connected to, the certificate still verified.

The server's certificate is made by the ``openssl`` command for this test and
trusted through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess

import pytest
from web_server import LOOPBACK, WebServer, write_web_config

from autoplug import Kernel

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command makes the test certificate"
)


def make_certificate(folder, names: str) -> tuple[str, str]:
    """A self-signed certificate for ``names`` (a subjectAltName value); (cert, key) paths."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=autoplug-test",
            "-addext",
            f"subjectAltName={names}",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    cert, key = make_certificate(tmp_path, "DNS:localhost")
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with WebServer(ssl_context=context) as running:
        yield running


@pytest.fixture
def kernel(isolated_home):
    write_web_config(isolated_home, allow_private=LOOPBACK, timeout_s=2)
    return Kernel(builtins=["autoplug_web"], home=isolated_home)


def test_https_page_by_name_verifies_against_that_name(kernel, tls_server):
    url = tls_server.url("/page.html", host="localhost")
    result = asyncio.run(kernel.tools.acall("browse_url", {"url": url}))
    assert result.ok, result.error
    assert result.value["final_url"] == url
    assert result.value["title"] == "Planets of the Solar System"


def test_https_certificate_for_another_name_is_rejected(kernel, tls_server):
    # The certificate names only "localhost"; asking for 127.0.0.1 must fail verification.
    url = tls_server.url("/page.html", host="127.0.0.1")
    result = asyncio.run(kernel.tools.acall("browse_url", {"url": url}))
    assert result.kind == "tool_error"
    assert "CERTIFICATE_VERIFY_FAILED" in result.error and url in result.error
