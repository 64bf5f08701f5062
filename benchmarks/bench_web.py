"""How long browse_url takes, and where the time goes.

Serves synthetic article pages of several sizes from a loopback server and
prints, per size: the median time of a whole ``browse_url`` call through the
door, and of the HTML reading (BeautifulSoup) alone. Also the first call in a
fresh interpreter, which pays for importing httpx and bs4.

Run: python benchmarks/bench_web.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from web_server import LOOPBACK, WebServer, write_web_config  # noqa: E402

PARAGRAPH = (
    "<p>Jupiter is the fifth planet from the Sun and the largest in the Solar System. "
    '<a href="/wiki/Gas_giant">gas giant</a> with a mass more than two and a half times '
    "that of all the other planets combined.</p>\n"
)


def article(size: int) -> bytes:
    """An HTML page of about ``size`` bytes: chrome, scripts and many paragraphs."""
    head = (
        "<!DOCTYPE html><html><head><title>Jupiter</title><script>var x = 1;</script></head>"
        "<body><nav>" + '<a href="/n">nav</a>' * 50 + "</nav><main><h1>Jupiter</h1>"
    )
    tail = "</main><footer>footer</footer></body></html>"
    count = max(1, (size - len(head) - len(tail)) // len(PARAGRAPH))
    return (head + PARAGRAPH * count + tail).encode()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    from autoplug import Kernel
    from autoplug_builtins.web.readable import read_html

    sizes = [20_000, 200_000, 1_000_000]
    with tempfile.TemporaryDirectory() as home:
        os.environ["AUTOPLUG_HOME"] = home
        write_web_config(Path(home), allow_private=LOOPBACK, max_bytes=2_000_000)
        kernel = Kernel(builtins=["autoplug_web"], home=home)
        with WebServer() as server:
            pages = {size: article(size) for size in sizes}
            print(f"{'page size':>10}  {'browse_url p50':>15}  {'HTML reading p50':>17}  runs")
            for size, body in pages.items():
                path = f"/bench/{size}.html"
                server.extra_routes[path] = body
                runs = 20 if size < 500_000 else 5
                total: list[float] = []
                for _ in range(runs):
                    start = time.perf_counter()
                    result = asyncio.run(
                        kernel.tools.acall("browse_url", {"url": server.url(path)})
                    )
                    total.append(time.perf_counter() - start)
                    assert result.ok, result.error
                reading: list[float] = []
                for _ in range(runs):
                    start = time.perf_counter()
                    read_html(body, "utf-8", server.url(path), 100)
                    reading.append(time.perf_counter() - start)
                print(
                    f"{len(body):>10,}  {median_ms(total):>12.1f} ms  "
                    f"{median_ms(reading):>14.1f} ms  {runs:>4}"
                )
            first_call(server.url("/bench/20000.html"), home)


def first_call(url: str, home: str) -> None:
    """The first browse_url call in a fresh interpreter (imports included)."""
    code = (
        "import asyncio, time; from autoplug import Kernel;"
        f"k = Kernel(builtins=['autoplug_web'], home={home!r});"
        "t = time.perf_counter();"
        f"r = asyncio.run(k.tools.acall('browse_url', {{'url': {url!r}}}));"
        "print(f'{(time.perf_counter() - t) * 1000:.0f}', r.ok)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "AUTOPLUG_HOME": home},
        check=True,
    )
    ms, ok = out.stdout.split()
    print(f"first call in a fresh interpreter (imports httpx and bs4): {ms} ms (ok={ok})")


if __name__ == "__main__":
    main()
