"""``autoplug ui``: a local, read-only web app over the home (extra ``ui``).

Server-rendered pages after datasette: every page is HTML with a little
JavaScript (no build step, nothing from a CDN), and also JSON at the same path
with ``.json`` (``/runs.json``, ``/runs/RUN_ID.json``, ``/memory.json``).

The modules, each on its own:

- :mod:`.listing`: the runs page's data, fast with many runs (read only the page);
- :mod:`.run_view`: one run's page data: acts, steps with timings, assets;
- :mod:`.graph`: a plan's steps laid out as a graph and drawn as SVG;
- :mod:`.transcript`: a run's transcript entries and a manager's children;
- :mod:`.memory_view`: memory search that writes nothing;
- :mod:`.app`: the Starlette application (routes, templates, JSON);
- :mod:`.gate`: the token and Host checks in front of it;
- :mod:`.server`: binding the address, the token, uvicorn.

Only :mod:`.app` and :mod:`.server` import Starlette, uvicorn and Jinja2, and
only the ``ui`` command imports them: ``autoplug --help`` stays fast.
"""
