"""Run every benchmark with its default arguments and write its section of docs/performance.md.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.run_all     # = make bench

Each benchmark runs in its own process (one Qt application per process; the history
benchmark's memory figure is then its own), one after the other, each with ``--write-docs``:
``bench_lead_panel`` (about 7 min), then ``bench_history`` (its 1,000,000-message read part
takes well over an hour). A failing one does not stop the next; the exit code says whether all
of them succeeded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ("bench.bench_lead_panel", "bench.bench_history")


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="Takes no arguments: defaults only."
    ).parse_args(argv)
    failed: list[str] = []
    for module in BENCHMARKS:
        print(f"== {module} --write-docs", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", module, "--write-docs"], cwd=ROOT)
        print(f"== {module}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
