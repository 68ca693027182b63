"""Benchmark: chat switch → lead card painted (cached / uncached), and prefetch hit rate.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_lead_panel [--write-docs]

Everything real except WhatsApp: the CV CRM simulator over HTTP with 150 ms latency per
answer (`--latency`), the production CvCrmClient (350 ms spacing, backoff), LeadService on
Redis (a private redis-server when one is on PATH, else the in-process cache), the real
LeadView + LeadPanelController + TaskRunner, painted offscreen. "Painted" = the controller
showed the expected lead and `view.repaint()` returned.

Prefetch scenario (`--chats 200`): WhatsApp's list shows `--visible` chats; the salesperson
opens them top to bottom, spending `--dwell` seconds on each, scrolling the list as she goes
(the visible window moves with her). The list is on screen `--warmup` seconds before the first
click. The visible rows are handed to the controller exactly as lead_badges.js's visible()
would (JSON text), the paced prefetcher fetches, and a switch counts as a hit when the card
was fresh in the cache at the click.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from wacrm_desktop.adapters.cache import MemoryCache, make_cache  # noqa: E402
from wacrm_desktop.adapters.cvcrm import CvCrmClient  # noqa: E402
from wacrm_desktop.core.leads import Lead  # noqa: E402
from wacrm_desktop.services.crm_actions import LeadActions  # noqa: E402
from wacrm_desktop.services.crm_catalog import CrmCatalog  # noqa: E402
from wacrm_desktop.services.crm_prefetch import LeadPrefetcher  # noqa: E402
from wacrm_desktop.services.leads import LeadService  # noqa: E402
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator  # noqa: E402
from wacrm_desktop.ui.lead.controller import (  # noqa: E402
    LeadPanelContext,
    LeadPanelController,
    PrefetchRelay,
)
from wacrm_desktop.ui.lead.view import LeadView  # noqa: E402
from wacrm_desktop.ui.tasks import TaskRunner  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- lead-panel:start -->", "<!-- lead-panel:end -->"
EMAIL, TOKEN = "bench@wacrm.local", "bench-token"
FIRST_PHONE = 5521980000000


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _cache(use_redis: bool) -> tuple[Any, str, Any]:
    if use_redis:
        sys.path.insert(0, str(ROOT / "tests"))
        try:
            from servers import RedisServer, redis_server_binary  # type: ignore[import-not-found]

            if redis_server_binary():
                server = RedisServer().start()
                return make_cache(server.url, namespace="wacrm:bench"), "Redis (local)", server
        except Exception as exc:  # no redis: say so in the figures
            print(f"(redis unavailable: {type(exc).__name__}; using the in-process cache)")
    return MemoryCache("wacrm:bench"), "in-process cache", None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.app = QApplication.instance() or QApplication(["bench"])
        self.sim = CvCrmSimulator(EMAIL, TOKEN).start()
        self.sim.add_generated_leads(args.chats, first_phone=FIRST_PHONE)
        self.sim.set_latency(args.latency)
        self.cache, self.cache_name, self.redis = _cache(not args.no_redis)
        self.client = CvCrmClient(self.sim.url, EMAIL, TOKEN)  # production spacing/backoff
        self.leads = LeadService(lambda: self.client, self.cache, key_prefix="lead:")
        self.relay = PrefetchRelay()
        self.prefetcher = LeadPrefetcher(
            self.leads, interval=args.prefetch_interval, on_result=self.relay.result.emit
        )
        self.ctx = LeadPanelContext(
            leads=self.leads,
            actions=LeadActions(lambda: self.client, self.leads, self.cache),
            catalog=CrmCatalog(lambda: self.client, self.cache),
            prefetcher=self.prefetcher,
            prefetch_relay=self.relay,
        )
        self.tasks = TaskRunner()
        self.view = LeadView()
        self.view.resize(380, 900)
        self.view.show()
        self.controller = LeadPanelController(self.view, self.ctx, self.tasks, "bench")
        self.painted_at: float | None = None
        self.expected: int | None = None
        self.controller.leadShown.connect(self._on_shown)
        self.ctx.catalog.situations()  # type: ignore[union-attr]
        self.phones = [str(FIRST_PHONE + i) for i in range(args.chats)]
        self.ids = {p: i for i, p in zip(self._lead_ids(), self.phones, strict=True)}

    def _lead_ids(self) -> list[int]:
        rows = sorted(self.sim.leads(), key=lambda r: r["idlead"])
        return [r["idlead"] for r in rows if str(r["telefone"]).lstrip("+") in set(self.phones)]

    def _on_shown(self, lead: Lead | None) -> None:
        if lead is not None and lead.id == self.expected:
            self.view.repaint()
            self.painted_at = time.perf_counter()

    def switch(self, phone: str, timeout: float = 15.0) -> float:
        """Open the chat of `phone`; seconds until its card was painted."""
        self.expected = self.ids[phone]
        self.painted_at = None
        started = time.perf_counter()
        self.controller.set_chat(f"{phone}@c.us", f"Cliente {phone[-4:]}", phone, False)
        deadline = started + timeout
        while self.painted_at is None and time.perf_counter() < deadline:
            self.app.processEvents()
            time.sleep(0.0002)
        if self.painted_at is None:
            raise RuntimeError("card not painted in time")
        return self.painted_at - started

    def idle(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.005)

    def close(self) -> None:
        self.prefetcher.stop()
        self.tasks.shutdown()
        self.sim.stop()
        if self.redis is not None:
            self.redis.close()

    # ------------------------------------------------------------------ scenarios

    def latency(self) -> dict[str, Any]:
        n = self.args.latency_chats
        cold = self.phones[:n]
        uncached = []
        for phone in cold:  # at a human pace, so the client's spacing is not what we time
            uncached.append(self.switch(phone))
            self.idle(self.args.uncached_pause)
        cached = []
        for _ in range(self.args.cached_rounds):
            for phone in cold:
                cached.append(self.switch(phone))
        return {
            "uncached_ms": [x * 1000 for x in uncached],
            "cached_ms": [x * 1000 for x in cached],
        }

    def prefetch(self) -> dict[str, Any]:
        self.cache.delete(*[f"lead:{p}" for p in self.phones])
        self.leads._memory.clear()  # a cold start: nothing known
        self.prefetcher.start()
        visible = self.args.visible
        hits = 0
        misses: list[int] = []
        switch_ms: list[float] = []

        def show_list(top: int) -> None:
            rows = [{"title": f"+{p}", "id": None} for p in self.phones[top : top + visible]]
            self.controller.on_visible_chats(json.dumps(rows))

        show_list(0)
        self.idle(self.args.warmup)
        started = time.perf_counter()
        for i, phone in enumerate(self.phones):
            if self.leads.is_fresh(phone):
                hits += 1
            else:
                misses.append(i)
            switch_ms.append(self.switch(phone) * 1000)
            show_list(max(0, i - 2))  # she scrolls: the open chat stays near the top
            self.idle(max(0.0, self.args.dwell - switch_ms[-1] / 1000))
        return {
            "hits": hits,
            "total": len(self.phones),
            "misses_at": misses,
            "duration_s": time.perf_counter() - started,
            "switch_ms": switch_ms,
            "stats": self.prefetcher.stats,
        }


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.150)
    parser.add_argument("--latency-chats", type=int, default=20)
    parser.add_argument("--uncached-pause", type=float, default=1.0)
    parser.add_argument("--cached-rounds", type=int, default=10)
    parser.add_argument("--visible", type=int, default=15)
    parser.add_argument("--dwell", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--prefetch-interval", type=float, default=0.4)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--skip-prefetch", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    bench = Bench(args)
    try:
        lat = bench.latency()
        pre = None if args.skip_prefetch else bench.prefetch()
    finally:
        bench.close()

    un, ca = lat["uncached_ms"], lat["cached_ms"]
    lines = [
        f"- Machine: {_machine()}; Qt offscreen; cache: {bench.cache_name}.",
        f"- CV CRM simulator latency {args.latency * 1000:.0f} ms per answer; production "
        "client (350 ms spacing between calls).",
        f"- **Uncached** switch → card painted ({len(un)} chats, one every "
        f"{args.uncached_pause:g} s): p50 {statistics.median(un):.0f} ms, "
        f"p95 {_pct(un, 95):.0f} ms, max {max(un):.0f} ms.",
        f"- **Cached** switch → card painted ({len(ca)} switches): p50 "
        f"{statistics.median(ca):.2f} ms, p95 {_pct(ca, 95):.2f} ms, max {max(ca):.2f} ms "
        "(target p95 ≤ 10 ms).",
    ]
    if pre is not None:
        rate = 100 * pre["hits"] / pre["total"]
        stats = pre["stats"]
        sw = pre["switch_ms"]
        lines.append(
            f"- **Prefetch**: {pre['total']} chats opened in order, {args.dwell:g} s each, "
            f"{args.visible} visible, list shown {args.warmup:g} s before the first click: "
            f"**{pre['hits']}/{pre['total']} hits ({rate:.1f} %)** (target ≥ 90 %); "
            f"misses at positions {pre['misses_at'][:12]}"
            f"{'…' if len(pre['misses_at']) > 12 else ''}; prefetcher fetched "
            f"{stats.fetched}, skipped {stats.skipped_fresh} fresh; switch p50 "
            f"{statistics.median(sw):.1f} ms, p95 {_pct(sw, 95):.0f} ms; "
            f"run {pre['duration_s']:.0f} s."
        )
    command = "QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_lead_panel"
    extra = " ".join(a for a in (argv or sys.argv[1:]) if a != "--write-docs")
    lines.append(f"- Command: `{command}{(' ' + extra) if extra else ''}`.")
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        _write_section(text)
    return 0


def _write_section(text: str) -> None:
    body = (
        f"{START}\n## Lead panel (issue 4)\n\n"
        f"Measured {time.strftime('%Y-%m-%d')} with `bench/bench_lead_panel.py` "
        "(see its docstring for the scenario).\n\n"
        f"{text}\n{END}"
    )
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if START in old and END in old:
        head, rest = old.split(START, 1)
        new = head + body + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + body + "\n"
    DOC.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
