#!/usr/bin/env python3
"""Cold start of each function against a minimal SDK probe, in one run.

Each release binary (this machine's target, the release profile the Lambda bundles
use) is started as Lambda starts it: with `AWS_LAMBDA_RUNTIME_API` pointing at a
stand-in of the Lambda Runtime API served here. Measured per start:

- init: from spawning the process to its first `GET .../invocation/next` (what
  Lambda reports as Init Duration: config, secrets from the environment, the SDK's
  configuration and clients);
- first event: from handing it one event to its answer (an event that needs no
  network: a webhook verification, an unauthenticated API call, an empty batch);
- peak memory (VmHWM) after the answer.

The probe (`tests/probe`) loads the SDK's configuration, makes a DynamoDB client and
echoes events: the least a function on the SDK does. Figures are medians and p90
of `--runs` starts each, printed as a table; a function that fails to start fails
the script.

    python3 tests/scripts/cold_start.py            # builds, then 20 starts each
    python3 tests/scripts/cold_start.py --no-build --runs 50

With `--bundles DIR` it starts the arm64 bootstraps `sam build` made (DIR, e.g.
infra/.aws-sam/build; the probe from `cargo lambda build --release --arm64 --bin
asyncdesk-probe`), under qemu-aarch64 on another machine: a check that each Lambda
bundle starts and answers, not a timing (emulation is many times slower).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HOURS = json.dumps(
    {
        "timezone": "Europe/Berlin",
        "weekly": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]},
        "first_response_minutes": 60,
        "auto_reply": {"default": "We're away; we'll reply by {reply_by}."},
    }
)

# What every function reads at cold start (the local stack's dev settings), and
# what Lambda sets. Credentials are static, so no credential lookup goes out.
ENV = {
    "TABLE_NAME": "asyncdesk-cold-start",
    "WHATSAPP_APP_SECRET": "dev-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "dev-access-token",
    "TELEGRAM_BOT_TOKEN": "123456:dev-bot-token",
    "TELEGRAM_WEBHOOK_SECRET": "dev-telegram-secret",
    "EMAIL_FROM": "Acme Support <support@acme.example>",
    "BUSINESS_HOURS": HOURS,
    # sha256("cold-start-key"): no request below presents it.
    "AGENT_API_KEYS": "probe=22223d24bfe57d9fcc22c59275181785d97b91661a48d6c7ff077fb22c6c7005",
    "AWS_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "cold-start",
    "AWS_SECRET_ACCESS_KEY": "cold-start",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_STREAM_NAME": "cold-start",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cold-start",
    "RUST_LOG": "warn",
}


def http_event(method, path, query=""):
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "api.example"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "cold-start",
            },
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "03/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1796256000000,
        },
        "isBase64Encoded": False,
    }


# (binary, event, what its answer must contain)
FUNCTIONS = [
    ("asyncdesk-probe", {"ping": 1}, '"ping"'),
    (
        "inbound-webhook",
        http_event(
            "GET",
            "/webhooks/whatsapp",
            "hub.mode=subscribe&hub.verify_token=dev-verify-token&hub.challenge=4242",
        ),
        "4242",
    ),
    ("off-hours-auto-reply", {"Records": []}, ""),
    ("inbound-email", {"Records": []}, '"records"'),
    ("agent-reply", http_event("GET", "/conversations"), "401"),
    ("availability", http_event("GET", "/availability"), "200"),
]


class Runtime:
    """The Lambda Runtime API, for one process at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset(None)

    def reset(self, event):
        with self.lock:
            self.event = event
            self.served = False
            self.next_at = None
            self.answer_at = None
            self.answer = None
            self.done = threading.Event()


def make_handler(rt):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if not self.path.endswith("/runtime/invocation/next"):
                self.send_error(404)
                return
            with rt.lock:
                first = not rt.served
                if first:
                    rt.served = True
                    rt.next_at = time.perf_counter()
                    body = json.dumps(rt.event).encode()
            if not first:
                # The next event never comes: the process is stopped meanwhile.
                rt.done.wait(30)
                time.sleep(0.5)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
            self.send_header(
                "Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)
            )
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:eu-central-1:123456789012:function:cold-start",
            )
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-0-0;Sampled=0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode(errors="replace")
            with rt.lock:
                rt.answer_at = time.perf_counter()
                kind = "error" if "error" in self.path else "response"
                rt.answer = (kind, body)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            rt.done.set()

    return Handler


def peak_rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def start_once(rt, binary, event, expect):
    # A server of its own for each start: a request the previous process had in
    # flight when it was stopped cannot take this one's event.
    rt.reset(event)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(rt))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = dict(ENV, PATH=os.environ.get("PATH", ""))
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
    env["AWS_LAMBDA_FUNCTION_NAME"] = binary
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command(binary),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if not rt.done.wait(30):
            raise RuntimeError(f"{binary}: no answer within 30 s")
        peak = peak_rss_kb(proc.pid)
    finally:
        proc.kill()
        _, err = proc.communicate()
        server.shutdown()
        server.server_close()
    kind, answer = rt.answer
    if kind != "response" or expect not in answer:
        raise RuntimeError(
            f"{binary}: unexpected {kind}: {answer[:300]}\n{err.decode(errors='replace')[-600:]}"
        )
    return (rt.next_at - t0) * 1000, (rt.answer_at - rt.next_at) * 1000, peak


BUNDLES = {
    "asyncdesk-probe": None,
    "inbound-webhook": "InboundWebhookFunction",
    "off-hours-auto-reply": "OffHoursAutoReplyFunction",
    "inbound-email": "InboundEmailFunction",
    "agent-reply": "AgentReplyFunction",
    "availability": "AvailabilityFunction",
}
BUNDLE_DIR = None


def binary_path(name):
    if BUNDLE_DIR is None:
        return ROOT / "target" / "release" / name
    if BUNDLES[name] is None:
        return ROOT / "target" / "lambda" / name / "bootstrap"
    return Path(BUNDLE_DIR) / BUNDLES[name] / "bootstrap"


def command(name):
    path = str(binary_path(name))
    if BUNDLE_DIR is not None and os.uname().machine != "aarch64":
        return ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", path]
    return [path]


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--bundles", help="a sam build directory: start its arm64 bootstraps")
    args = ap.parse_args()
    global BUNDLE_DIR
    BUNDLE_DIR = args.bundles
    if BUNDLE_DIR is not None:
        args.no_build = True
    if not args.no_build:
        packages = [
            "asyncdesk-probe",
            "inbound-webhook",
            "off-hours-auto-reply",
            "inbound-email",
            "agent-reply",
            "availability",
        ]
        cmd = ["cargo", "build", "--release"]
        for p in packages:
            cmd += ["-p", p]
        subprocess.run(cmd, cwd=ROOT, check=True)

    rt = Runtime()

    rows = []
    for binary, event, expect in FUNCTIONS:
        start_once(rt, binary, event, expect)  # warm the page cache
        inits, firsts, peaks = [], [], []
        for _ in range(args.runs):
            init, first, peak = start_once(rt, binary, event, expect)
            inits.append(init)
            firsts.append(first)
            if peak:
                peaks.append(peak)
        size = binary_path(binary).stat().st_size
        rows.append((binary, inits, firsts, max(peaks) if peaks else 0, size))

    probe = statistics.median(rows[0][1])
    what = f"arm64 bundles of {BUNDLE_DIR}" if BUNDLE_DIR else os.uname().machine
    print(f"cold start, {args.runs} starts each ({what}, release profile); ms")
    print(
        f"{'binary':<22} {'init p50':>9} {'init p90':>9} {'vs probe':>9} "
        f"{'1st event p50':>14} {'peak RSS MB':>12} {'size MB':>8}"
    )
    for binary, inits, firsts, peak, size in rows:
        init = statistics.median(inits)
        print(
            f"{binary:<22} {init:>9.1f} {pct(inits, 90):>9.1f} {init - probe:>+9.1f} "
            f"{statistics.median(firsts):>14.2f} {peak / 1024:>12.1f} {size / 1e6:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
