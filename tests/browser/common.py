"""What the browser scenarios share: steps, JSON over HTTP, axe-core, the browser.

Imported by desk.py and widget.py (their directory is on sys.path when run).
"""

import json
import os
import pathlib
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SERIOUS = {"serious", "critical"}


def step(name):
    print(f"--- {name}", flush=True)


def http(base, method, path, body=None, headers=None):
    """(status, JSON body or None; the raw text when it is not JSON)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, (json.loads(raw) if raw else None)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def axe_clean(page, view):
    """axe-core finds no serious or critical violation on the page as it is."""
    import axe_playwright_python

    source = (pathlib.Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    # Evaluated through the DevTools protocol, which the page's CSP does not govern;
    # the page itself never runs inline script. axe.run(document) includes open
    # shadow roots.
    page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert not bad, f"axe-core on {view}: " + "; ".join(bad)
    print(f"axe-core: {view}: no serious or critical violation", flush=True)


def launch(p, extra_args=()):
    """Debian's Chromium, headless (no browser download works on these machines)."""
    return p.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            *extra_args,
        ],
    )
