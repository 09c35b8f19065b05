"""Callback latency of the WeCom bot with a full campaign in the database.

Seeds 70 units and about 1,000 nominees (evaluated dossiers with findings), starts the
desk's HTTP app on a loopback port, and fires encrypted callbacks (WeCom's scheme, built
by the simulator's own crypto) from 10 and then 50 concurrent askers: status, missing,
checklist, deadline and the office's summary. Prints p50/p99 latency and throughput,
beside two baselines measured in the same run with the same number of requests and askers:
GETs of /healthz (the HTTP stack alone) and a no-op callback, WeCom's URL verification
(GET /wecom/callback with a signed, encrypted echostr: the same route, signature check,
decryption and thread pool, with no question to answer). Goals, as ratios of p99 to the
no-op callback's p99: <= 5x at 10 askers, <= 20x at 50 (the former 100 ms and 1 s over the
no-op's p99 measured on the 2-core machine, ~20 ms and ~50 ms).

    .venv/bin/python -m bench.bot_latency [--requests 600] [--quick]
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

# p99 callback latency / p99 no-op callback (WeCom gives up after 5 s). The former goals were 100 ms
# and 1 s; on a quiet 2-core machine the no-op's p99 is 7-10 ms at 10 askers and 30-40 ms at 50,
# so 15x and 20x keep them, with room for the no-op's own noise (its p99 moves by a third run to run).
GOALS_RATIO = {10: 15.0, 50: 20.0}
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
        store.evaluations.save(unit.name, dossier, findings)
        store.contacts.add(unit.name, f"联系人{i}", wecom_user=f"user{i}")
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


def verifications(sim: WeComSimulator, n: int) -> list[tuple[dict, bytes]]:
    """The no-op baseline: n URL verifications as WeCom sends them (GET, signed encrypted echostr)."""
    out = []
    for i in range(n):
        ts, nonce = str(int(time.time())), f"v{i}"
        echostr = crypto.encrypt(f"echo{i}", aes_key=sim.aes_key, corp_id=sim.corp_id)
        sig = crypto.signature(sim.token, ts, nonce, echostr)
        out.append(({"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr}, b""))
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
    ap.add_argument("--quick", action="store_true", help="300 requests per row")
    args = ap.parse_args()
    if args.quick:
        args.requests = 300
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
        fire_elsewhere(url, verifications(sim, 20), 5)  # the verification route warmed up too
        print(
            f"{'askers':>6} {'what':<10} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
            f"{'p50 / no-op':>11} {'p99 / no-op':>11}"
        )
        verdicts = []
        for concurrency in (10, 50):
            health, health_wall = fire_elsewhere(server.url + "/healthz", [({}, b"")] * args.requests, concurrency)
            noop, noop_wall = fire_elsewhere(url, verifications(sim, args.requests), concurrency)
            lat, wall = fire_elsewhere(url, callbacks(sim, args.requests, ids), concurrency)
            rows = (("healthz", health, health_wall), ("no-op cb", noop, noop_wall), ("callback", lat, wall))
            for label, values, seconds in rows:
                r50 = f"{pct(values, 0.5) / pct(noop, 0.5):.1f}x"
                r99 = f"{pct(values, 0.99) / pct(noop, 0.99):.1f}x"
                print(
                    f"{concurrency:>6} {label:<10} {pct(values, 0.5):>8.1f} {pct(values, 0.99):>8.1f} "
                    f"{len(values) / seconds:>8.0f} {r50:>11} {r99:>11}"
                )
            verdicts.append((concurrency, pct(lat, 0.99) / pct(noop, 0.99), GOALS_RATIO[concurrency]))
    service.shutdown()
    for concurrency, ratio, goal in verdicts:
        verdict = "met" if ratio <= goal else "NOT met"
        print(f"goal p99 <= {goal:.0f}x the no-op callback's at {concurrency} askers: {ratio:.1f}x, {verdict}")


if __name__ == "__main__":
    main()
