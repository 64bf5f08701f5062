"""How well and how fast browse_url reads web pages.

**Quality**: every page of ``benchmarks/pages`` (news, blogs, docs, forums,
bare-div sites; each with its gold text beside it) is served from a loopback
server and read through ``browse_url``; its text is scored against the gold
by token precision, recall and F1 (bags of lower-cased words, as the public
article-extraction benchmarks do). trafilatura and readability-lxml read the
same HTML bytes (never fetching anything themselves) and are scored the same
way, when installed; a line says so when one is not. Figures are given for
the whole set, per kind of page and for the held-out templates, with the time
per page of each extractor.

**Speed**: synthetic article pages of several sizes; per size the median time
of a whole ``browse_url`` call through the door, and of the HTML reading
alone. Also the first call in a fresh interpreter, which pays for importing
httpx and bs4.

Run: python benchmarks/bench_web.py [--quality | --speed]
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from web_server import LOOPBACK, WebServer, write_web_config  # noqa: E402

PAGES = HERE / "pages"
sys.path.insert(0, str(PAGES))
from heldout import HELD_OUT  # noqa: E402

KINDS = {"news": "news", "blog": "blogs", "docs": "docs", "forum": "forums", "divs": "bare divs"}

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


def tokens(text: str) -> Counter[str]:
    """The bag of lower-cased words of ``text``."""
    return Counter(re.findall(r"\w+", text.lower()))


def prf(text: str, gold: str) -> tuple[float, float, float]:
    """Token precision, recall and F1 of ``text`` against ``gold``."""
    got, want = tokens(text), tokens(gold)
    common = sum((got & want).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def trafilatura_text(html: bytes) -> str:
    """trafilatura's main text of ``html`` (extract() reads the given HTML; it fetches nothing)."""
    import trafilatura

    return (
        trafilatura.extract(html.decode("utf-8"), include_comments=False, include_tables=True) or ""
    )


def readability_text(html: bytes) -> str:
    """readability-lxml's summary of ``html``, as text."""
    import lxml.html
    from readability import Document

    summary = Document(html.decode("utf-8")).summary(html_partial=True)
    return lxml.html.fromstring(summary).text_content()


def other_extractors() -> dict[str, Callable[[bytes], str]]:
    """The comparison extractors that are installed (a line says which are not)."""
    found: dict[str, Callable[[bytes], str]] = {}
    for name, module, reader in (
        ("trafilatura", "trafilatura", trafilatura_text),
        ("readability-lxml", "readability", readability_text),
    ):
        if importlib.util.find_spec(module) is None:
            print(f"{name} is not installed: skipped (pip install {name})")
        else:
            found[name] = reader
    return found


def quality() -> None:
    """Score browse_url and the other extractors against every page's gold text."""
    from autoplug import Kernel
    from autoplug_builtins.web.readable import read_html

    names = sorted(path.name.removesuffix(".html") for path in PAGES.glob("*.html"))
    others = other_extractors()
    scores: dict[str, dict[str, tuple[float, float, float]]] = {
        "browse_url": {},
        **{n: {} for n in others},
    }
    seconds: dict[str, float] = dict.fromkeys(scores, 0.0)
    empty: list[str] = []
    reading = 0.0
    with tempfile.TemporaryDirectory() as home, WebServer() as server:
        os.environ["AUTOPLUG_HOME"] = home
        write_web_config(Path(home), allow_private=LOOPBACK)
        kernel = Kernel(builtins=["autoplug_web"], home=home)
        for name in names:
            html = (PAGES / f"{name}.html").read_bytes()
            gold = (PAGES / f"{name}.gold.txt").read_text(encoding="utf-8")
            server.extra_routes[f"/{name}.html"] = html
            start = time.perf_counter()
            result = asyncio.run(
                kernel.tools.acall(
                    "browse_url", {"url": server.url(f"/{name}.html"), "max_chars": 10**6}
                )
            )
            seconds["browse_url"] += time.perf_counter() - start
            assert result.ok, result.error
            if not result.value["text"].strip():
                empty.append(name)
            scores["browse_url"][name] = prf(result.value["text"], gold)
            start = time.perf_counter()
            read_html(html, "utf-8", server.url(f"/{name}.html"), 100)
            reading += time.perf_counter() - start
            for other, reader in others.items():
                start = time.perf_counter()
                text = reader(html)
                seconds[other] += time.perf_counter() - start
                scores[other][name] = prf(text, gold)
    groups = {f"all {len(names)} pages": names}
    for prefix, label in KINDS.items():
        groups[label] = [n for n in names if n.startswith(prefix + "-")]
    groups["held out"] = [n for n in names if n.split("--")[0] in HELD_OUT]
    print(f"\n{'pages':<16} {'n':>3}  " + "  ".join(f"{e:>22}" for e in scores))
    print(f"{'':<16} {'':>3}  " + "  ".join(f"{'P / R / F1':>22}" for _ in scores))
    for label, members in groups.items():
        cells = []
        for extractor in scores:
            rows = [scores[extractor][n] for n in members]
            means = [statistics.fmean(r[i] for r in rows) for i in range(3)]
            cells.append(f"{means[0]:.3f} / {means[1]:.3f} / {means[2]:.3f}")
        print(f"{label:<16} {len(members):>3}  " + "  ".join(f"{c:>22}" for c in cells))
    print(
        "time per page   "
        + "  ".join(f"{seconds[e] / len(names) * 1000:>19.1f} ms" for e in scores)
    )
    print(
        f"browse_url's HTML reading alone: {reading / len(names) * 1000:.1f} ms a page "
        "(its time above is the whole call over loopback; the others only read the HTML)"
    )
    print(f"pages where browse_url's text is empty: {len(empty)} {empty or ''}")
    worst = sorted(names, key=lambda n: scores["browse_url"][n][2])[:5]
    print(
        "browse_url's lowest F1: "
        + ", ".join(f"{n} {scores['browse_url'][n][2]:.2f}" for n in worst)
    )


def speed() -> None:
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


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which in ("", "--quality"):
        quality()
    if which in ("", "--speed"):
        speed()


if __name__ == "__main__":
    main()
