"""The desk as an agent uses it, in Debian's Chromium driven by Playwright.

Run by tests/tests/desk_browser.rs against a fresh local stack (DESK_BASE_URL), with
the dev agent key (DESK_AGENT_KEY). Elements are found by role and accessible name;
axe-core checks every view for serious or critical violations. Customers write
through the real webhooks (signed as Meta signs them); what reached a customer is
read from /dev/outbox. Prints ALL DESK SCENARIOS PASSED at the end.
"""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import re
import sys
import time

from playwright.sync_api import expect, sync_playwright

import common
from common import axe_clean, launch, step

BASE = os.environ["DESK_BASE_URL"].rstrip("/")
KEY = os.environ["DESK_AGENT_KEY"]
SHOTS = pathlib.Path(os.environ.get("SCREENSHOTS", "target/desk-screenshots"))
APP_SECRET = b"dev-app-secret"
PHONE_NUMBER_ID = "1065"
LIVE_SECONDS = 10  # the bound for a change to show without a reload
# A loaded CI machine is slower than a desk: wait up to 10 s for what should show.
expect.set_options(timeout=10_000)

_wamid = [0]


def http(method, path, body=None, headers=None):
    return common.http(BASE, method, path, body, headers)


def api(method, path, body=None):
    return http(method, path, body, {"authorization": f"Bearer {KEY}"})


def whatsapp_message(number, name, message):
    """A customer's WhatsApp message, posted as Meta posts it (signed)."""
    _wamid[0] += 1
    message = {
        "from": number,
        "id": f"wamid.desk{int(time.time() * 1000)}x{_wamid[0]}",
        "timestamp": str(int(time.time())),
        **message,
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": number}],
            "messages": [message],
        }}]}],
    }
    raw = json.dumps(body).encode()
    sig = "sha256=" + hmac.new(APP_SECRET, raw, hashlib.sha256).hexdigest()
    status, receipt = http("POST", "/webhooks/whatsapp", raw, {"x-hub-signature-256": sig})
    assert status == 200 and receipt["stored"] == 1, (status, receipt)


def customer_writes(number, name, text, ago_seconds=0):
    whatsapp_message(number, name, {
        "timestamp": str(int(time.time()) - ago_seconds),
        "type": "text",
        "text": {"body": text},
    })


# A real 1x1 PNG: the browser must be able to draw the preview.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def customer_sends_photo(number, name, caption):
    """A WhatsApp image: the file put into the Graph stand-in, then the message."""
    status, media = http("POST", "/dev/media?channel=whatsapp&type=image/png", PNG,
                         {"content-type": "image/png"})
    assert status in (200, 201), (status, media)
    whatsapp_message(number, name, {
        "type": "image",
        "image": {"id": media["id"], "mime_type": "image/png", "caption": caption},
    })


def outbox_texts(containing):
    _, body = http("GET", "/dev/outbox")
    return [m["text"] for m in body["messages"] if containing in m["text"]]


def conversation_of(name):
    _, body = api("GET", "/conversations?status=open&order=due&limit=100")
    for c in body["conversations"]:
        if c.get("customer_name") == name:
            return c
    raise AssertionError(f"no open conversation of {name}")


def wait_for_status(conversation_id, status, seconds=10):
    deadline = time.time() + seconds
    while True:
        _, c = api("GET", f"/conversations/{conversation_id}?limit=1")
        now = c["conversation"]["status"]
        if now == status or time.time() > deadline:
            break
        time.sleep(0.3)
    assert now == status, f"{conversation_id} is {now}, not {status}"


def sign_in(page):
    page.goto(BASE + "/desk")
    key = page.get_by_label("Agent key", exact=True)
    expect(key).to_be_visible()
    key.fill(KEY)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("list", name="Queue", exact=True).or_(
        page.get_by_role("table", name="Queue", exact=True))).to_be_visible()


def queue(page):
    return page.get_by_role("list", name="Queue", exact=True).or_(
        page.get_by_role("table", name="Queue", exact=True))


def row(page, name):
    # A row's accessible name starts with the customer's display name.
    return queue(page).get_by_role("listitem").filter(has_text=name).or_(
        queue(page).get_by_role("row").filter(has_text=name)).first


def conversation(page):
    return page.get_by_role("region", name="Conversation", exact=True)


def open_conversation(page, name):
    target = queue(page).get_by_role("link", name=name).or_(
        queue(page).get_by_role("button", name=name)).first
    target.click()
    expect(conversation(page).get_by_role("heading", name=name).first).to_be_visible()


def desktop(p):
    browser = launch(p)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    step("sign in with the agent key (axe on the sign-in form)")
    page.goto(BASE + "/desk")
    expect(page.get_by_label("Agent key", exact=True)).to_be_visible()
    axe_clean(page, "sign-in")
    page.get_by_label("Agent key", exact=True).fill("not-the-key")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    sign_in(page)
    assert "dev-agent-key" not in json.dumps(page.evaluate("() => ({...localStorage, ...sessionStorage})"))
    assert KEY not in page.url

    step("the queue is in promise order, as GET /conversations?order=due")
    expect(row(page, "Dora")).to_be_visible()
    expect(row(page, "Cleo")).to_be_visible()
    _, due = api("GET", "/conversations?status=open&order=due&limit=50")
    expected = [c["customer_name"] for c in due["conversations"]]
    names = queue(page).locator("[data-conversation-id]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('aria-label') || r.textContent)")
    shown = [next((n for n in expected if label.strip().startswith(n)), label) for label in names]
    assert shown == expected, (shown, expected)
    expect(row(page, "Dora")).to_contain_text("Overdue")
    axe_clean(page, "queue")
    page.screenshot(path=str(SHOTS / "desk-queue.png"))

    step("open a conversation; a double click on Send reply sends once")
    open_conversation(page, "Ana")
    region = conversation(page)
    expect(region.get_by_role("article").filter(has_text="Where is my parcel?")).to_be_visible()
    axe_clean(page, "conversation")
    reply = page.get_by_role("textbox", name="Reply", exact=True)
    reply.fill("Your parcel left our warehouse today.")
    page.get_by_role("button", name="Send reply", exact=True).dblclick()
    expect(region.get_by_role("article").filter(has_text="Your parcel left our warehouse today.")).to_be_visible()
    time.sleep(2)
    assert len(outbox_texts("Your parcel left our warehouse today.")) == 1, outbox_texts("Your parcel")
    expect(reply).to_have_value("")

    step("the customer writes during a draft: 409, the draft stays, nothing is sent")
    # The page must not have seen the message yet (the agent is typing as it
    # arrives): its reads are held while the customer writes and the agent sends.
    def unseen(url):
        return "/changes" in url or re.search(r"/conversations/[^/?]+\?", url) is not None
    page.route(unseen, lambda route: route.abort())
    reply.fill("Anything else I can do?")
    customer_writes("4915112340001", "Ana", "Actually, can I change the address?")
    page.get_by_role("button", name="Send reply", exact=True).click()
    expect(page.get_by_text("wrote again").first).to_be_visible()
    expect(region.get_by_role("article").filter(has_text="can I change the address?")).to_be_visible()
    expect(reply).to_have_value("Anything else I can do?")
    assert outbox_texts("Anything else I can do?") == []
    page.unroute(unseen)
    page.get_by_role("button", name="Send reply", exact=True).click()
    expect(region.get_by_role("article").filter(has_text="Anything else I can do?")).to_be_visible()
    time.sleep(1)
    assert len(outbox_texts("Anything else I can do?")) == 1

    step("a note stays internal")
    page.get_by_role("textbox", name="Note", exact=True).fill("VIP: ships from the Berlin store")
    page.get_by_role("button", name="Add note", exact=True).click()
    note = region.get_by_role("article").filter(has_text="VIP: ships from the Berlin store")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Internal note")
    time.sleep(1)
    assert outbox_texts("VIP: ships from the Berlin store") == []
    page.screenshot(path=str(SHOTS / "desk-conversation.png"))

    step("a draft and its key survive a reload")
    reply.fill("Draft that survives a reload")
    page.reload()
    expect(conversation(page).get_by_role("heading", name="Ana").first).to_be_visible()
    reply = page.get_by_role("textbox", name="Reply", exact=True)
    expect(reply).to_have_value("Draft that survives a reload")
    reply.fill("")

    step(f"a message and a new conversation show within {LIVE_SECONDS} s, no reload")
    t0 = time.time()
    customer_writes("4915112340001", "Ana", "Thanks, that helps!")
    customer_writes("4915112340009", "Eve", "Hello from a new customer")
    expect(region.get_by_role("article").filter(has_text="Thanks, that helps!")).to_be_visible(
        timeout=LIVE_SECONDS * 1000)
    expect(row(page, "Eve")).to_be_visible(timeout=LIVE_SECONDS * 1000)
    print(f"shown after {time.time() - t0:.1f} s", flush=True)

    step("saved replies: add one, insert it with its placeholders filled")
    page.get_by_role("button", name="Insert saved reply", exact=True).click()
    dialog = page.get_by_role("dialog", name="Saved replies")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title", exact=True).fill("Thanks")
    dialog.get_by_label("Text", exact=True).fill("Thank you, {customer_name}!")
    dialog.get_by_role("button", name="Save saved reply", exact=True).click()
    expect(dialog.get_by_role("button", name="Thanks", exact=True)).to_be_visible()
    axe_clean(page, "saved replies dialog")
    dialog.get_by_role("button", name="Thanks", exact=True).click()
    expect(reply).to_have_value("Thank you, Ana!")
    reply.fill("")

    step("resolve and next by keyboard (e), help dialog (?)")
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    axe_clean(page, "keyboard help")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    ana = conversation_of("Ana")["id"]
    page.keyboard.press("e")
    wait_for_status(ana, "resolved")
    expect(region.get_by_role("heading", name="Ana")).to_have_count(0)

    step("outside WhatsApp's window the reply box gives way to a template")
    open_conversation(page, "Dora")
    expect(page.get_by_role("textbox", name="Reply", exact=True)).to_have_count(0)
    picker = page.get_by_role("combobox", name="Template")
    expect(picker).to_be_visible()
    picker.select_option(label=picker.locator("option").filter(has_text="follow_up").first.inner_text())
    page.get_by_role("textbox", name="Parameter 1", exact=True).fill("Dora")
    page.get_by_role("button", name="Send template", exact=True).click()
    deadline = time.time() + 10
    while time.time() < deadline and not outbox_texts("template follow_up (en_US): Dora"):
        time.sleep(0.3)
    assert len(outbox_texts("template follow_up (en_US): Dora")) == 1

    step("a customer's photo shows in the open thread once captured, no reload")
    open_conversation(page, "Cleo")
    customer_sends_photo("4915112340003", "Cleo", "The label on the box")
    photo = region.get_by_role("article").filter(has_text="The label on the box").get_by_role("img")
    expect(photo).to_be_visible(timeout=LIVE_SECONDS * 1000)
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") == 1, "the preview loaded (CSP img-src)"
    link = photo.locator("xpath=ancestor::a[1]")
    assert link.get_attribute("href").startswith(BASE + "/dev/cdn"), link.get_attribute("href")

    step("Tab reaches the controls, each with a visible focus")
    page.locator("body").click(position={"x": 5, "y": 5})
    seen = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
            const e = document.activeElement;
            if (!e || e === document.body) return null;
            const s = getComputedStyle(e);
            const name = e.getAttribute('aria-label') || e.textContent.trim().slice(0, 30) || e.id;
            return {tag: e.tagName, name, outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
                    shadow: s.boxShadow !== 'none'};
        }""")
        if not focused:
            continue
        assert focused["outline"] or focused["shadow"], f"no visible focus on {focused}"
        seen.add(focused["name"])
    for control in ["Send reply", "Add note", "Resolve", "Insert saved reply"]:
        assert any(control in n for n in seen), (control, sorted(seen))

    step("by keyboard only: j/k and Enter open, r, the text, Ctrl+Enter, e (<= 5 keys)")
    # j/k move the selection; from a fresh load the first due row is selected.
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.reload()
    open_rows = queue(page).locator("[data-conversation-id]")
    expect(open_rows.first).to_be_visible()
    first_due = conversation_of_first_due()
    print(f"first due: {first_due}", flush=True)
    keys = ["Enter", "r", "Control+Enter", "e"]
    page.keyboard.press(keys[0])
    expect(region.get_by_role("heading", name=first_due).first).to_be_visible()
    first_id = conversation_of(first_due)["id"]
    page.keyboard.press(keys[1])
    expect(page.get_by_role("textbox", name="Reply", exact=True)).to_be_focused()
    page.keyboard.type("Sorted, have a good day.")
    page.keyboard.press(keys[2])
    expect(region.get_by_role("article").filter(has_text="Sorted, have a good day.")).to_be_visible()
    page.keyboard.press(keys[3])
    wait_for_status(first_id, "resolved")
    expect(region.get_by_role("heading", name=first_due)).to_have_count(0)
    assert len(outbox_texts("Sorted, have a good day.")) == 1
    print(f"keys: {' '.join(keys)} ({len(keys)} plus the text)", flush=True)

    step("promise report in the header; the Reports dialog: charts, tables, CSV")
    report = page.get_by_role("region", name="Promise report", exact=True)
    expect(report).to_contain_text("Promises kept this week:")
    expect(report).to_contain_text("Overdue now:")
    page.get_by_role("button", name="Reports", exact=True).click()
    reports = page.get_by_role("dialog", name="Reports", exact=True)
    expect(reports).to_be_visible()
    expect(reports.get_by_role("img", name=re.compile(r"^Promises kept by day"))).to_be_visible()
    expect(reports.get_by_role("img", name=re.compile(r"^Waits started by hour of week"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "desk-reports.png"))
    reports.get_by_text("Show as table", exact=True).first.click()
    table = reports.get_by_role("table").first
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Kept rate", exact=True)).to_be_visible()
    expect(reports.get_by_text("First reply").first).to_be_visible()
    with page.expect_download() as download:
        reports.get_by_role("link", name="Download waits (CSV)", exact=True).click()
    csv = pathlib.Path(download.value.path()).read_text()
    assert csv.startswith("conversation,channel,kind,"), csv[:200]
    axe_clean(page, "reports dialog")
    page.keyboard.press("Escape")
    expect(reports).to_be_hidden()
    # Opening the dialog read the week again: the replies above are promises kept.
    expect(report).to_contain_text(re.compile(r"Promises kept this week: \d+%"))

    # Expected: 401 before sign-in, 409 in the draft flow, and the reads the test
    # held back on purpose (ERR_FAILED); nothing else.
    expected = ("401", "409", "net::ERR_FAILED")
    assert not [e for e in errors if not any(x in e for x in expected)], errors
    context.close()
    browser.close()


def conversation_of_first_due():
    _, due = api("GET", "/conversations?status=open&order=due&limit=1")
    return due["conversations"][0]["customer_name"]


def phone(p):
    step("360 px wide: queue and conversation as two views")
    browser = launch(p)
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page)
    someone = conversation_of_first_due()
    expect(row(page, someone)).to_be_visible()
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 360, f"the queue scrolls sideways at 360 px ({wide} px)"
    axe_clean(page, "queue at 360 px")
    open_conversation(page, someone)
    expect(queue(page)).to_be_hidden()
    expect(page.get_by_role("textbox", name="Reply", exact=True)).to_be_visible()
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 360, f"the conversation scrolls sideways at 360 px ({wide} px)"
    axe_clean(page, "conversation at 360 px")
    page.screenshot(path=str(SHOTS / "desk-phone.png"))
    page.get_by_role("button", name="Back to queue").click()
    expect(queue(page)).to_be_visible()
    context.close()
    browser.close()


def main():
    SHOTS.mkdir(parents=True, exist_ok=True)
    step("customers write (WhatsApp webhooks, signed)")
    customer_writes("4915112340004", "Dora", "Is anyone there?", ago_seconds=26 * 3600)
    customer_writes("4915112340001", "Ana", "Where is my parcel?", ago_seconds=180)
    customer_writes("4915112340002", "Ben", "Can I pay by invoice?", ago_seconds=120)
    customer_writes("4915112340003", "Cleo", "Do you ship to Austria?", ago_seconds=60)
    with sync_playwright() as p:
        desktop(p)
        phone(p)
    print("ALL DESK SCENARIOS PASSED", flush=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", flush=True)
        sys.exit(1)
