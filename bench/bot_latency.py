"""Callback latency of the WeCom bot with a full campaign in the database.

Seeds 70 units and about 1,000 nominees (evaluated dossiers with findings), starts the
desk's HTTP app on a loopback port, and fires encrypted callbacks (WeCom's scheme, built
by the simulator's own crypto) from 10 and then 50 concurrent askers: status, missing,
checklist, deadline and the office's summary. Prints p50/p99 latency and throughput,
beside a baseline measured in the same run: the same number of GETs of /healthz
(the HTTP stack alone). Goals: p99 <= 100 ms at 10 askers, <= 1 s at 50.

    .venv/bin/python -m bench.bot_latency [--requests 600]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import tempfile
import time
import urllib.parse
from pathlib import Path

from config import load_campaign
from config.settings import Settings
from nomdesk.app import create_app
from nomdesk.service import Service
from tests.support.dossiers import city_dossier
from tests.support.wecom_sim import crypto
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator
from validators import run_rules

GOALS_MS = {10: 100.0, 50: 1000.0}  # p99 callback latency; WeCom gives up after 5 s
QUESTIONS = ["状态", "缺什么", "清单", "截止", "进度怎么样"]


def seed(service: Service) -> int:
    campaign = service.campaign
    store = service.store
    nominees = 0
    for i, unit in enumerate(campaign.units[:70]):
        dossier = city_dossier(campaign, stars=10, projects=4)
        dossier.unit = unit.name
        dossier.unit_kind = unit.kind.value
        if i % 3 == 0:  # some units with problems, so "缺什么" has content
            dossier.stars[0].photos = dossier.stars[0].photos[:1]
            dossier.projects[0].videos = []
        findings = run_rules(dossier, campaign)
        store.save_evaluation(unit.name, dossier, findings)
        store.add_contact(unit.name, f"联系人{i}", wecom_user=f"user{i}")
        nominees += len(dossier.stars) + len(dossier.projects)
    return nominees


async def _connection(host: str, port: int, queue: list[bytes], latencies: list[float]) -> None:
    """One keep-alive HTTP/1.1 connection sending requests from the queue until it is empty."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while queue:
            request = queue.pop()
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            assert status == b"200", body[:200]
    finally:
        writer.close()


async def fire(url: str, bodies: list[tuple[dict, bytes]], concurrency: int) -> tuple[list[float], float]:
    """Latencies of the requests sent over `concurrency` connections, and the wall time of it all.

    A bare asyncio HTTP/1.1 client rather than httpx: at 50 connections httpx's own pool costs more
    than the server (126 req/s against a /healthz that serves 1,400), which would measure the client."""
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    queue = []
    for params, body in bodies:
        target = parsed.path + ("?" + urllib.parse.urlencode(params) if params else "")
        method = "POST" if body else "GET"
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        queue.append(head.encode() + b"Content-Type: text/xml\r\n\r\n" + body)
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_connection(host, port, queue, latencies) for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


def callbacks(sim: WeComSimulator, n: int, ids: itertools.count) -> list[tuple[dict, bytes]]:
    out = []
    for i in range(n):
        user = "wuxiaohui" if i % 10 == 0 else f"user{i % 70}"
        text = "汇总" if user == "wuxiaohui" else QUESTIONS[i % len(QUESTIONS)]
        xml = sim.text_message(user, text, next(ids))
        ts, nonce = str(int(time.time())), str(i)
        body, sig = crypto.encrypted_envelope(xml, sim.token, sim.aes_key, sim.corp_id, sim.agent_id, ts, nonce)
        out.append(({"msg_signature": sig, "timestamp": ts, "nonce": nonce}, body.encode()))
    return out


def _fire_in_child(url: str, bodies: list[tuple[dict, bytes]], concurrency: int, out) -> None:
    out.put(asyncio.run(fire(url, bodies, concurrency)))


def fire_elsewhere(url: str, bodies: list[tuple[dict, bytes]], concurrency: int) -> tuple[list[float], float]:
    """The load comes from another process, so client and server do not share one interpreter."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_fire_in_child, args=(url, bodies, concurrency, out))
    child.start()
    result = out.get(timeout=600)
    child.join()
    return result


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=600)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    sim = WeComSimulator()
    settings = Settings(
        data_dir=data,
        wecom_corp_id=sim.corp_id,
        wecom_token=sim.token,
        wecom_aes_key=sim.aes_key,
    )
    service = Service.build(settings, load_campaign())
    t0 = time.perf_counter()
    nominees = seed(service)
    print(f"seeded 70 units, {nominees} nominees in {time.perf_counter() - t0:.1f} s")
    ids = itertools.count(int(time.time()) * 1000)
    with BackgroundServer(create_app(service)) as server:
        url = server.url + "/wecom/callback"
        # Warm up: every asker once, so each unit's dossier is parsed and cached as in a running desk
        # (the first question about a unit after its dossier changed costs ~10 ms more: the parse).
        fire_elsewhere(url, callbacks(sim, 140, ids), 5)
        print(f"{'askers':>6} {'what':<10} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'p99 / base':>10}")
        verdicts = []
        for concurrency in (10, 50):
            base, base_wall = fire_elsewhere(server.url + "/healthz", [({}, b"")] * args.requests, concurrency)
            lat, wall = fire_elsewhere(url, callbacks(sim, args.requests, ids), concurrency)
            for label, values, seconds in (("healthz", base, base_wall), ("callback", lat, wall)):
                ratio = f"{pct(values, 0.99) / pct(base, 0.99):.1f}x" if label == "callback" else ""
                print(
                    f"{concurrency:>6} {label:<10} {pct(values, 0.5):>8.1f} {pct(values, 0.99):>8.1f} "
                    f"{len(values) / seconds:>8.0f} {ratio:>10}"
                )
            p99 = pct(lat, 0.99)
            verdicts.append((concurrency, p99, GOALS_MS[concurrency]))
    service.shutdown()
    for concurrency, p99, goal in verdicts:
        print(f"goal p99 <= {goal:.0f} ms at {concurrency} askers: {p99:.0f} ms, {'met' if p99 <= goal else 'NOT met'}")


if __name__ == "__main__":
    main()
