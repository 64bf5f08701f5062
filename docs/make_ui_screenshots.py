"""Regenerate the screenshots of docs/ui.md with the browser the tests use.

Run: python docs/make_ui_screenshots.py

Needs the ui extra and Debian's chromium and chromium-driver (as the browser
tests). It makes a fresh home with real runs (the scripted model through
``kernel.run``, the tests' tools), serves it with ``autoplug ui``, and saves
``docs/images/ui-*.png``. Nothing leaves the machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))

from ui_helpers import UiServer, chromium_missing, make_run, start_browser  # noqa: E402

OUT = DOCS / "images"

#: A plan that looks like work: three lookups, two comparisons reading them, a summary.
PLAN = [
    {"id": "oslo", "tool": "fetch", "args": {"city": "Oslo"}, "output": "oslo"},
    {"id": "bergen", "tool": "fetch", "args": {"city": "Bergen"}, "output": "bergen"},
    {"id": "tromso", "tool": "fetch", "args": {"city": "Tromsø"}, "output": "tromso"},
    {
        "id": "south",
        "tool": "fetch",
        "args": {"city": "south"},
        "output": "south",
        "inputs": ["oslo", "bergen"],
    },
    {
        "id": "north",
        "tool": "explode",
        "args": {"data": {"$asset": "tromso"}},
        "output": "north",
    },
    {
        "id": "summary",
        "tool": "fetch",
        "args": {"city": "all"},
        "output": "summary",
        "inputs": ["south"],
    },
]


def main() -> None:
    why = chromium_missing()
    if why:
        raise SystemExit(f"cannot take screenshots: {why}")
    work = Path(tempfile.mkdtemp(prefix="ui-shots-"))
    home = work / "home"
    home.mkdir()
    home.joinpath("config.toml").write_text('[memory]\nembedder = "hashing"\n')
    for task in ("What is the capital of Norway?", "Compare the weather in three cities"):
        make_run(
            home,
            task=task,
            answer="Mild in the south, cold up north.",
            builtins=("autoplug_memory",),
        )
    make_run(
        home,
        task="Draw a tiny picture",
        steps=[{"id": "draw", "tool": "picture", "args": {}, "output": "image"}],
        answer="Drawn.",
    )
    main_run = make_run(
        home,
        task="How warm is it across Norway today?",
        steps=PLAN,
        answer="Mild in the south; the northern reading failed.",
        builtins=("autoplug_memory",),
    )
    OUT.mkdir(exist_ok=True)
    with UiServer(home) as server:
        driver = start_browser(work / "profile", 1280, 800)
        try:
            shots = [
                ("ui-runs.png", "/runs", None),
                ("ui-run.png", f"/runs/{main_run.run_id}", None),
                ("ui-step.png", f"/runs/{main_run.run_id}", "north"),
                ("ui-memory.png", "/memory?q=weather+in+Norway", None),
            ]
            for name, path, click in shots:
                driver.get(server.base + path)
                if click:
                    node = driver.find_element(
                        "css selector", f'svg.plan .node[data-step-id="{click}"]'
                    )
                    node.click()
                    key = node.get_attribute("data-step")
                    driver.execute_script(
                        "document.getElementById(arguments[0]).scrollIntoView()", f"step-{key}"
                    )
                time.sleep(0.3)
                driver.save_screenshot(str(OUT / name))
                print(f"{OUT / name}: {(OUT / name).stat().st_size // 1024} KB")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
