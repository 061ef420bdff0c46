#!/usr/bin/env python3
"""Size of each function's arm64 bootstrap, as `sam build` makes it.

Runs `sam build` (infra/template.yaml: cargo-lambda, arm64, the release profile)
unless `--no-build`, then prints per function the bootstrap's size and the size of
its zipped package (what Lambda stores and loads at a cold start), and fails when
a bootstrap is over the limit (6 MB, 6,000,000 bytes).

    python3 tests/scripts/size_report.py                # needs sam and cargo-lambda
    python3 tests/scripts/size_report.py --no-build --build-dir infra/.aws-sam/build
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 6_000_000


def zipped_size(path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--build-dir", default=str(ROOT / "infra" / ".aws-sam" / "build"))
    args = ap.parse_args()
    build_dir = Path(args.build_dir)
    if not args.no_build:
        sam = shutil.which("sam") or str(ROOT / ".venv" / "bin" / "sam")
        env = dict(os.environ)
        env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
        env.setdefault("SAM_CLI_TELEMETRY", "0")
        subprocess.run(
            [sam, "build", "--build-dir", str(build_dir)],
            cwd=ROOT / "infra",
            env=env,
            check=True,
        )
    bootstraps = sorted(build_dir.glob("*/bootstrap"))
    if not bootstraps:
        print(f"no bootstrap under {build_dir}", file=sys.stderr)
        return 2
    print(f"arm64 bootstraps ({build_dir}); limit {LIMIT / 1e6:.1f} MB")
    print(f"{'function':<28} {'bootstrap MB':>13} {'zipped MB':>10}")
    over = []
    for b in bootstraps:
        size = b.stat().st_size
        print(f"{b.parent.name:<28} {size / 1e6:>13.2f} {zipped_size(b) / 1e6:>10.2f}")
        if size > LIMIT:
            over.append(b.parent.name)
    if over:
        print(f"over {LIMIT / 1e6:.1f} MB: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
