"""Status changes to the outbox under load, against `porchlight serve` on 127.0.0.1.

Creates N sandbox shipments (each with its own shopper email), waits for the pipeline to settle,
then pushes one carrier scan per shipment (`POST /webhooks/carriers/testing-courier`, signed) at
a fixed rate, open loop: each push has its scheduled time, and a push that cannot leave on time
counts its latency from when it should have (no coordinated omission). Each push moves its
shipment from Pending to InTransit: one status change, one in-transit email. The latency of a
change is from its push's scheduled time to its email's file in the outbox (the file's mtime).

Usage: notify_load.py PORT API_KEY ADMIN_TOKEN OUTBOX_DIR RATE SECONDS
Prints the achieved rate, the latency percentiles, and whether p99 is under one second.
"""

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SECRET = b"load-secret"
CONNECTIONS = 32


def number(i):
    return f"TC-DELIVERED-30-L{i:07d}"


def create_shipments(port, key, count):
    """Creates the shipments over a few keep-alive connections."""

    def create_range(start, stop):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(start, stop):
            body = json.dumps({
                "tracking_number": number(i),
                "slug": "testing-courier",
                "customers": [{"email": f"s{i}@load.example", "language": "en"}],
            })
            connection.request("POST", "/tracking/2026-07/trackings", body,
                               {"as-api-key": key, "content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status not in (200, 201):
                raise SystemExit(f"creating {number(i)}: HTTP {response.status}")
        connection.close()

    workers = 8
    step = (count + workers - 1) // workers
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda w: create_range(w * step, min(count, (w + 1) * step)), range(workers)))


def stats(port, token):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/admin/stats", headers={"x-porchlight-admin-token": token})
    data = json.loads(connection.getresponse().read())["data"]
    connection.close()
    return data


def wait_settled(port, token, limit=600):
    deadline = time.time() + limit
    while time.time() < deadline:
        data = stats(port, token)
        if data["carrier_updates_depth"] == 0 and data["status_changes_depth"] == 0:
            return
        time.sleep(0.5)
    raise SystemExit("the pipeline did not settle")


def push(i):
    body = json.dumps({
        "tracking_number": number(i),
        "events": [{"occurred_at": "2026-11-30T08:00:00Z", "code": "PUP",
                    "description": "Picked up by the carrier", "city": "Shenzhen", "country": "CHN"}],
    }).encode()
    signature = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    head = (
        "POST /webhooks/carriers/testing-courier HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"x-testing-courier-signature: {signature}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader):
    """One HTTP/1.1 response on a keep-alive connection: its status (the body is read past)."""
    status_line = await reader.readline()
    if not status_line:
        raise asyncio.IncompleteReadError(b"", None)
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def drive(port, rate, count):
    """Sends push i at start + i / rate over CONNECTIONS keep-alive connections; returns each
    push's scheduled time and the number that failed."""
    start = time.time() + 0.5
    scheduled = [start + i / rate for i in range(count)]
    queue = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    failures = 0

    async def worker():
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not queue.empty():
            i = queue.get_nowait()
            wait = scheduled[i] - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(push(i))
            if await read_response(reader) != 200:
                failures += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return scheduled, failures, time.time() - start


def main():
    port, key, token, outbox = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    rate, seconds = float(sys.argv[5]), float(sys.argv[6])
    count = int(rate * seconds)
    began = time.time()
    create_shipments(port, key, count)
    wait_settled(port, token)
    print(f"== {count} shipments created and settled in {time.time() - began:.1f} s")

    depths = []
    sampling = True

    def sample():
        while sampling:
            data = stats(port, token)
            depths.append((data["carrier_updates_depth"], data["status_changes_depth"]))
            time.sleep(1)

    sampler = ThreadPoolExecutor(1).submit(sample)
    scheduled, failures, took = asyncio.run(drive(port, rate, count))
    sampling = False
    sampler.result()
    print(f"== {count} carrier pushes in {took:.2f} s ({count / took:.0f}/s, target {rate:.0f}/s), {failures} failed")
    print("== queue depths each second (carrier-updates/status-changes): "
          + " ".join(f"{c}/{s}" for c, s in depths))

    pattern = re.compile(rb"^To: s(\d+)@load\.example", re.M)
    latencies = {}
    deadline = time.time() + 120
    while len(latencies) < count and time.time() < deadline:
        for entry in os.scandir(outbox):
            if not entry.name.endswith(".eml") or entry.name in latencies:
                continue
            with open(entry.path, "rb") as file:
                found = pattern.search(file.read(4096))
            if found:
                latencies[entry.name] = entry.stat().st_mtime - scheduled[int(found.group(1))]
        time.sleep(0.5)
    values = sorted(latencies.values())
    if len(values) < count:
        print(f"error: {count - len(values)} of {count} emails never reached the outbox")
        sys.exit(1)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000
    print(f"== status change to outbox: p50 {pick(0.50):.0f} ms, p90 {pick(0.90):.0f} ms, "
          f"p99 {pick(0.99):.0f} ms, max {values[-1] * 1000:.0f} ms over {len(values)} emails")
    verdict = "met" if pick(0.99) < 1000 and failures == 0 else "NOT met"
    print(f"== target (p99 under 1 s at {rate:.0f} changes/s): {verdict}")


if __name__ == "__main__":
    main()
