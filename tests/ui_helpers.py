"""What the `autoplug ui` tests share: real runs made by the scripted model, the real server.

Runs are made through ``kernel.run`` with tools of a test plugin, so their folders
are what a user's runs hold. The server is the ``autoplug ui`` command in a
subprocess, on a free port, reading the same home.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from autoplug import Kernel, hookimpl, tool
from autoplug.scripted import ScriptedModel, call

AUTOPLUG = str(Path(sys.executable).with_name("autoplug"))

#: Set by a test to let `wait_here` return (a run kept going until then).
RELEASE = threading.Event()


@tool
def fetch(city: str) -> dict:
    """Weather of a city.

    city: the city's name
    """
    return {"city": city, "temp": 12}


@tool
def explode(data: dict) -> str:
    """A tool that always fails.

    data: anything
    """
    raise RuntimeError("the barometer broke")


@tool
def wait_here(seconds: float = 30.0) -> str:
    """Wait until the test releases it.

    seconds: the most to wait
    """
    RELEASE.wait(seconds)
    return "released"


@tool
def picture() -> bytes:
    """A 1x1 PNG image."""
    return PNG


def _png() -> bytes:
    """A valid 1x1 green PNG, built here so the bytes are plainly an image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x20\xa0\x40")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()


class UiTools:
    """The test plugin: the tools above."""

    @hookimpl
    def register_tools(self, register: Any) -> None:
        for each in (fetch, explode, wait_here, picture):
            register(each)


#: A plan of three steps: two fetches, then a step that reads both and fails.
FAILING_PLAN = [
    {"id": "oslo", "tool": "fetch", "args": {"city": "Oslo"}, "output": "weather"},
    {"id": "bergen", "tool": "fetch", "args": {"city": "Bergen"}, "output": "weather2"},
    {
        "id": "boom",
        "tool": "explode",
        "args": {"data": {"$asset": "weather"}},
        "output": "nothing",
        "inputs": ["weather2"],
    },
]


def kernel_for(home: Path, *builtins: str) -> Kernel:
    """A kernel over ``home`` with the test tools and the Runner."""
    return Kernel(plugins=[UiTools()], builtins=["autoplug_autos", *builtins], home=home)


def make_run(
    home: Path,
    task: str = "How warm is Oslo?",
    steps: list[dict[str, Any]] | None = None,
    answer: str = "Mild.",
    builtins: tuple[str, ...] = (),
) -> Any:
    """A finished run of one act with ``steps`` (default :data:`FAILING_PLAN`); its RunResult."""
    plan = FAILING_PLAN if steps is None else steps
    model = ScriptedModel(
        [
            call("act", subtask="check the weather", assets=[]),
            call("submit_plan", steps=plan),
            call("final", answer=answer),
        ]
    )
    return kernel_for(home, *builtins).run(task, model=model)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian: apt-get install chromium chromium-driver)"
    return None


def extra_missing() -> str | None:
    """Why the ui extra is not usable here, or None."""
    from autoplug.cli.ui import missing_extra

    missing = missing_extra()
    return f"the ui extra is not installed ({', '.join(missing)})" if missing else None


#: The options the browser runs with: headless, and nothing of its own on the network.
BROWSER_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
)


def start_browser(profile: Path, width: int = 1280, height: int = 900) -> Any:
    """A fresh headless Chromium with its performance log on (every request it makes)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (*BROWSER_ARGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # Both paths given: Selenium Manager (which would look things up online) is never asked.
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked for since the last call (from the performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


class UiServer:
    """``autoplug ui --no-open`` in a subprocess over ``home``; ``base`` is its origin."""

    def __init__(self, home: Path, *args: str, log: Path | None = None) -> None:
        self.home = home
        env = dict(os.environ, AUTOPLUG_HOME=str(home))
        env.pop("AUTOPLUG_LOAD_PLUGINS", None)
        self.log = log or home.parent / f"ui-server-{os.getpid()}-{id(self)}.log"
        self._stderr = open(self.log, "w")
        self.proc = subprocess.Popen(
            [AUTOPLUG, "ui", "--no-open", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"autoplug ui did not start: {line!r} {self.log.read_text()}")
        self.url = line
        self.base = line.split("/runs", 1)[0]
        self.token = line.split("?token=", 1)[1] if "?token=" in line else None

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> UiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``folder``: size, modification time and content."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            st = path.stat()
            found[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns, path.read_bytes())
    return found


def wait_until(check: Any, timeout: float = 15.0, every: float = 0.05) -> Any:
    """Call ``check`` until it returns something true (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
