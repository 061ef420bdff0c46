"""The widget on the demo shop, as the scenarios in widget.py reach it: settings from
the environment, HTTP to the stack (the agent API, the widget's routes as the page's
browser calls them), the browser, and the widget's parts by role and accessible name.
"""

import math
import os
import pathlib
import secrets
import time
import urllib.parse
import urllib.request

from playwright.sync_api import expect

import common

BASE = os.environ["WIDGET_BASE_URL"].rstrip("/")
SITE = os.environ["SITE_URL"]
SITE_ORIGIN = "/".join(SITE.split("/")[:3])
KEY = os.environ["DESK_AGENT_KEY"]
SHOTS = pathlib.Path(os.environ.get("SCREENSHOTS", "target/widget-screenshots"))
SCENARIO = os.environ.get("WIDGET_SCENARIO", "open")
BUSINESS = os.environ.get("WIDGET_BUSINESS_NAME", "Acme Support")
LAUNCHER = os.environ.get("WIDGET_LAUNCHER_TEXT", "Chat with us")
OFFLINE_SECONDS = float(os.environ.get("WIDGET_OFFLINE_SECONDS", "60"))  # the 60 s
ZONE = "America/New_York"
RUN = secrets.token_hex(3)  # makes this run's texts unique in a shared queue
REPLY_BOUND_MS = 2000
# Console errors the open scenario causes on purpose: offline, and sends the test aborts.
EXPECTED_ERRORS = ("net::ERR_INTERNET_DISCONNECTED", "net::ERR_NETWORK_CHANGED", "net::ERR_FAILED")
# A loaded CI machine is slower than a laptop: wait up to 10 s for what should show.
expect.set_options(timeout=10_000)

# The shadow root's log, read in the page (for the latency loop and counts).
LOG_TEXTS_JS = """() => {
    const host = document.querySelector('[data-asyncdesk-widget]');
    const log = host && host.shadowRoot && host.shadowRoot.querySelector('[role=log]');
    return log ? Array.from(log.querySelectorAll('li'), li => li.textContent) : [];
}"""
LOG_HAS_JS = """(text) => {
    const host = document.querySelector('[data-asyncdesk-widget]');
    const log = host && host.shadowRoot && host.shadowRoot.querySelector('[role=log]');
    return !!log && Array.from(log.querySelectorAll('li')).some(li => li.textContent.includes(text));
}"""


def http(method, path, body=None, headers=None):
    headers = dict(headers or {})
    if path.startswith("/widget"):
        # As the demo page's browser calls it: its origin, a browser's User-Agent.
        headers["origin"] = SITE_ORIGIN
        headers["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64) widget-test"
    return common.http(BASE, method, path, body, headers)


def api(method, path, body=None):
    return http(method, path, body, {"authorization": f"Bearer {KEY}"})


def launch(p):
    return common.launch(
        p,
        (
            # Background pages must keep their timers: the second tab polls too.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
        ),
    )


class Console:
    """Every console line and page error of a page; the widget must log no secrets."""

    def __init__(self):
        self.lines = []
        self.errors = []

    def watch(self, page):
        page.on("console", lambda m: self.lines.append(f"{m.type}: {m.text}"))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        return page

    def check(self, secrets_=(), allowed=()):
        leaked = [line for line in self.lines for s in secrets_ if s and s in line]
        assert not leaked, f"console output carries a message body, email or token: {leaked[:3]}"
        bad = [e for e in self.errors if not any(a in e for a in allowed)]
        assert not bad, f"console errors: {bad[:5]}"


# ---------- the widget, as a visitor sees it


def launcher(page):
    return page.get_by_role("button", name=LAUNCHER)


def dialog(page):
    return page.get_by_role("dialog", name=BUSINESS)


def log(page):
    return page.get_by_role("log", name="Messages")


def bubbles(page, text):
    return log(page).locator("li").filter(has_text=text)


def open_widget(page, goto=True):
    if goto:
        page.goto(SITE)
    expect(launcher(page)).to_be_visible()
    launcher(page).click()
    expect(dialog(page)).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_focused()


def send(page, text, by="button"):
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    if by == "enter":
        box.press("Enter")
    else:
        dialog(page).get_by_role("button", name="Send", exact=True).click()
    expect(bubbles(page, text)).to_have_count(1)
    expect(box).to_have_value("")


def token_of(page):
    return page.evaluate("""() => {
        for (let i = 0; i < localStorage.length; i++) {
            const k = localStorage.key(i);
            if (k.startsWith('asyncdesk:') && k.endsWith(':token')) return localStorage.getItem(k);
        }
        return null;
    }""")


def shown_once(page, texts):
    for text in texts:
        expect(bubbles(page, text)).to_have_count(1)


# ---------- the agent's side


def thread(conversation_id):
    status, body = api("GET", f"/conversations/{conversation_id}?limit=200")
    assert status == 200, (status, body)
    return body


def thread_texts(conversation_id):
    return [m.get("text") or "" for m in thread(conversation_id).get("messages", [])]


def find_conversation(text, seconds=10, by_preview_only=True):
    """The web conversation holding `text`: from the queue's preview, else (when the
    preview has moved on, e.g. to an auto-reply) from the web threads themselves."""
    deadline = time.time() + seconds
    while True:
        rows = []
        for status in ("open", "pending"):
            code, body = api("GET", f"/conversations?channel=web&status={status}&limit=100")
            assert code == 200 or status != "open", (code, body)
            rows += (body or {}).get("conversations", []) if code == 200 else []
        for c in rows:
            if c.get("channel") == "web" and text in (c.get("preview") or ""):
                return c
        if not by_preview_only:
            for c in rows:
                if c.get("channel") == "web" and any(text in t for t in thread_texts(c["id"])):
                    return c
        if time.time() > deadline:
            raise AssertionError(f"no web conversation shows {text!r} within {seconds} s: "
                                 f"{[(c.get('channel'), c.get('preview')) for c in rows][:10]}")
        time.sleep(0.3)


def agent_reply(conversation_id, text):
    status, body = api("POST", f"/conversations/{conversation_id}/messages", {"text": text})
    assert status == 201, (status, body)
    return body


def widget_config():
    status, cfg = http("GET", "/widget/config?zone=" + urllib.parse.quote(ZONE))
    assert status == 200, (status, cfg)
    return cfg


def host_css_isolated(page):
    """Hostile host CSS (adopted by the document: the page's CSP forbids <style>) must
    not reach the widget."""
    page.evaluate("""() => {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync('button { background: red !important; color: red !important; font-size: 40px !important; }'
            + ' * { display: inline !important; font-family: serif !important; }'
            + ' div { position: static !important; font-size: 40px !important; }');
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }""")
    got = launcher(page).evaluate("""b => {
        const s = getComputedStyle(b);
        return {bg: s.backgroundColor, color: s.color, size: s.fontSize, position: s.position,
                display: s.display, check: getComputedStyle(document.querySelector('.host-css-check')).display};
    }""")
    print(f"launcher under hostile host CSS: {got}", flush=True)
    assert got["check"] == "inline", f"the hostile sheet did not apply to the page: {got}"
    assert got["bg"] not in ("rgb(255, 0, 0)", "red"), got
    assert got["color"] not in ("rgb(255, 0, 0)", "red"), got
    assert got["size"] != "40px", got
    assert got["position"] == "fixed", got
    box = launcher(page).bounding_box()
    vp = page.viewport_size
    assert box and box["x"] + box["width"] <= vp["width"] and box["y"] + box["height"] <= vp["height"], (box, vp)
    assert box["x"] > vp["width"] / 2 and box["y"] > vp["height"] / 2, f"launcher not bottom-right: {box}"


def fits(page, width):
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= width, f"the page scrolls sideways at {width} px ({wide} px)"
    box = dialog(page).bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"dialog outside 0..{width}: {box}"
    assert box["y"] >= 0, box


def wait_reply(page, text, bound_ms):
    """Milliseconds until `text` shows in the widget's log (polled every 20 ms)."""
    page.wait_for_function(LOG_HAS_JS, arg=text, polling=20, timeout=bound_ms + 8000)


def percentile(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


# ---------- scenario: open
