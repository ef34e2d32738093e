"""A soak of `porchlight serve` on 127.0.0.1, with `kill -9` at random moments.

Starts serve on a fresh SQLite file (outbox for email, the testing courier's webhook secret,
limits per address lifted: every request comes from 127.0.0.1), creates SHIPMENTS sandbox
shipments, each with its own shopper email, and starts an import job of IMPORT_ROWS trackings.
Then drives a mixed load open loop at RATE operations a second for MINUTES minutes over
keep-alive connections (each operation has its scheduled time; one that cannot leave on time
counts its latency from when it should have):

  8/20 GET a tracking    2/20 list trackings    2/20 create a tracking
  5/20 a carrier push (signed): each shipment is picked up, out for delivery, then delivered,
       and pushed again after that (carriers resend)
  2/20 the shopper's tracking page    1/20 list the couriers

Serve's own workers run beside it: the poller (sandbox journeys), the fan-out, notifications to
the outbox. KILLS times, at random moments of the run's first 80 %, serve is killed with SIGKILL
and started again on the same file at once.

Afterwards it waits for the queues to drain and checks: every push answered 200 left its
checkpoint on its shipment; every shopper has exactly one email per status reached (none lost,
none twice); the import job finished with every row. Prints per minute the operations, errors,
p50/p99 latency and serve's resident memory (anonymous: not the mapped database file), then the verdicts. Exits 1 on any failure.

Usage: soak.py BIN WORKDIR MINUTES RATE KILLS
"""

import asyncio
import base64
import collections
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from notify_load import read_response

SECRET = b"soak-secret"
ADMIN = "soak-admin-token"
SHIPMENTS = 3000
IMPORT_ROWS = int(os.environ.get("SOAK_IMPORT_ROWS", "20000"))
IMPORT_SLUG = os.environ.get("SOAK_IMPORT_SLUG", "testing-courier")
IMPORT_PREFIX = {"testing-courier": "TC-DELIVERED-30-I", "dhl": "JD0146000"}.get(IMPORT_SLUG, "X")
CONNECTIONS = 48
STAGES = [("PUP", "Picked up by the carrier"), ("OFD", "Out for delivery"), ("DLV", "Delivered")]


def number(i):
    return f"TC-DELIVERED-30-S{i:07d}"


class Server:
    """`porchlight serve` on one file, killed and started again on demand."""

    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.db = os.path.join(work, "soak.db")
        self.outbox = os.path.join(work, "outbox")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.process = None
        self.log = open(os.path.join(work, "serve.log"), "ab")

    def create_tenant(self):
        out = subprocess.run([self.binary, "--db", self.db, "tenants", "create", "Soak shop"],
                             check=True, capture_output=True, text=True).stdout
        return out.strip().splitlines()[-1]

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--db", self.db, "--log-format", "json", "serve", "--listen", f"127.0.0.1:{self.port}",
             "--webhook-secret", "testing-courier=" + SECRET.decode(), "--admin-token", ADMIN,
             "--outbox", self.outbox, "--public-url", "https://track.example",
             "--page-lookups-per-minute", "1000000000", "--page-views-per-minute", "1000000000",
             "--webhooks-per-minute", "1000000000"] + os.environ.get("SOAK_SERVE_ARGS", "").split(),
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("serve did not start listening")

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)

    def rss_mb(self):
        """Serve's own resident memory (RssAnon): without the database pages its readers map,
        which are the operating system's file cache and grow with the file, not with serve."""
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


def call(port, method, path, key=None, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = dict(headers or {})
    if key:
        sent["as-api-key"] = key
    if body is not None and "content-type" not in sent:
        sent["content-type"] = "application/json"
    connection.request(method, path, body, sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def stats(port):
    status, data = call(port, "GET", "/admin/stats", headers={"x-porchlight-admin-token": ADMIN})
    return json.loads(data)["data"] if status == 200 else None


def wait_settled(port, limit=900):
    deadline = time.time() + limit
    while time.time() < deadline:
        data = stats(port)
        if data and data["carrier_updates_depth"] == 0 and data["status_changes_depth"] == 0:
            return True
        time.sleep(1)
    return False


def create_shipments(port, key):
    def create_range(start, stop):
        for i in range(start, stop):
            body = json.dumps({"tracking_number": number(i), "slug": "testing-courier",
                               "customers": [{"email": f"s{i}@soak.example", "language": "en"}]})
            status, data = call(port, "POST", "/tracking/2026-07/trackings", key, body)
            if status != 201:
                raise SystemExit(f"creating {number(i)}: HTTP {status} {data[:200]}")

    step = (SHIPMENTS + 7) // 8
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda w: create_range(w * step, min(SHIPMENTS, (w + 1) * step)), range(8)))


def push_body(i, stage):
    code, description = STAGES[min(stage, 2)]
    at = f"2026-11-{20 + min(stage, 2):02d}T08:00:00Z"
    return json.dumps({"tracking_number": number(i),
                       "events": [{"occurred_at": at, "code": code, "description": description,
                                   "city": "Leeds", "country": "GBR"}]}).encode()


class Load:
    """The mixed operations, their schedule and what came of each."""

    def __init__(self, port, key, rate, seconds):
        self.port, self.key, self.rate = port, key, rate
        self.count = int(rate * seconds)
        self.pushes = 0
        self.created = 0
        self.results = []  # (scheduled, kind, status or None, latency)
        self.acked = collections.defaultdict(set)  # shipment -> stages answered 200
        self.attempted = collections.defaultdict(set)
        self.ids = []

    def request(self, i):
        kind = i % 20
        if kind < 8:
            return "get", "GET", f"/tracking/2026-07/trackings/{random.choice(self.ids)}", None, {}
        if kind < 10:
            return "list", "GET", "/tracking/2026-07/trackings?limit=20", None, {}
        if kind < 12:
            self.created += 1
            body = json.dumps({"tracking_number": f"TC-DELIVERED-30-N{self.created:07d}",
                               "slug": "testing-courier"}).encode()
            return "create", "POST", "/tracking/2026-07/trackings", body, {"content-type": "application/json"}
        if kind < 17:
            shipment, stage = self.pushes % SHIPMENTS, self.pushes // SHIPMENTS
            self.pushes += 1
            body = push_body(shipment, stage)
            signature = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
            tag = ("push", shipment, min(stage, 2))
            return tag, "POST", "/webhooks/carriers/testing-courier", body, {
                "content-type": "application/json", "x-testing-courier-signature": signature}
        if kind < 19:
            return "page", "GET", f"/t/soak-shop/{number(random.randrange(SHIPMENTS))}", None, {}
        return "couriers", "GET", "/tracking/2026-07/couriers", None, {}

    async def run(self, on_start):
        start = time.time() + 0.5
        on_start(start)
        queue = asyncio.Queue()
        for i in range(self.count):
            queue.put_nowait(i)

        async def worker():
            reader = writer = None
            while not queue.empty():
                i = queue.get_nowait()
                scheduled = start + i / self.rate
                wait = scheduled - time.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                kind, method, path, body, headers = self.request(i)
                if isinstance(kind, tuple):
                    self.attempted[kind[1]].add(kind[2])
                head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                if self.key and kind != "page" and not isinstance(kind, tuple):
                    head += f"as-api-key: {self.key}\r\n"
                for name, value in headers.items():
                    head += f"{name}: {value}\r\n"
                head += f"Content-Length: {len(body or b'')}\r\n\r\n"
                status = None
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.write(head.encode() + (body or b""))
                    status = await asyncio.wait_for(read_response(reader), 30)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    await asyncio.sleep(0.02)
                self.results.append((scheduled - start, kind if isinstance(kind, str) else "push", status,
                                     time.time() - scheduled))
                if isinstance(kind, tuple) and status == 200:
                    self.acked[kind[1]].add(kind[2])
            if writer is not None:
                writer.close()

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else 0.0


def main():
    binary, work, minutes, rate, kills = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    seconds = minutes * 60
    server = Server(binary, work)
    key = server.create_tenant()
    server.start()
    began = time.time()
    create_shipments(server.port, key)
    wait_settled(server.port)
    load = Load(server.port, key, rate, seconds)
    cursor = ""
    while True:
        status, data = call(server.port, "GET", f"/tracking/2026-07/trackings?limit=200&cursor={cursor}", key)
        page = json.loads(data)["data"]
        load.ids += [t["id"] for t in page["trackings"]]
        if not page["pagination"]["has_next_page"]:
            break
        cursor = page["pagination"]["next_cursor"]
    print(f"== {SHIPMENTS} shipments created and settled in {time.time() - began:.1f} s", flush=True)

    rows = "".join(json.dumps({"tracking_number": f"{IMPORT_PREFIX}{r:07d}", "slug": IMPORT_SLUG}) + "\n"
                   for r in range(IMPORT_ROWS))
    status, data = call(server.port, "POST", "/porchlight/v1/imports", key, rows.encode(),
                        {"content-type": "application/x-ndjson"})
    if status != 202:
        raise SystemExit(f"import: HTTP {status} {data[:200]}")
    job = json.loads(data)["data"]["id"]

    kill_at = sorted(random.uniform(0.3, seconds * 0.8) for _ in range(kills))
    if kills:
        kill_at[0] = 0.5  # the first one while the import job runs
    memory = []
    restarts = []

    def chaos(start):
        def run():
            pending = list(kill_at)
            while time.time() < start + seconds + 1:
                now = time.time() - start
                if pending and now >= pending[0]:
                    pending.pop(0)
                    server.kill()
                    down = time.time()
                    server.start()
                    restarts.append((now, time.time() - down))
                rss = server.rss_mb()
                if rss is not None:
                    memory.append((now, rss))
                time.sleep(0.1)
        ThreadPoolExecutor(1).submit(run)

    ran = time.time()
    asyncio.run(load.run(chaos))
    ran = time.time() - ran
    time.sleep(1.5)
    kinds = collections.defaultdict(list)
    for _, kind, status, latency in load.results:
        if status is not None:
            kinds[kind].append(latency)
    print(f"== ran {ran:.0f} s; p50/p99 ms by operation: " + ", ".join(
        f"{kind} {percentile(v, 0.5):.0f}/{percentile(v, 0.99):.0f}" for kind, v in sorted(kinds.items())), flush=True)
    print(f"== {len(load.results)} operations over {minutes:g} min at {rate:g}/s; "
          f"{len(restarts)} kill -9 and restarts (each back in "
          f"{max((d for _, d in restarts), default=0) * 1000:.0f} ms at most)", flush=True)

    print("minute  ops    errors  refused  p50 ms  p99 ms  RssAnon MB (min-max)")
    by_minute = collections.defaultdict(list)
    for at, kind, status, latency in load.results:
        by_minute[int(at // 60)].append((kind, status, latency))
    failures = []
    for minute in sorted(by_minute):
        entries = by_minute[minute]
        ok = [latency for _, status, latency in entries if status is not None and status < 400]
        errors = sum(1 for _, status, _ in entries if status is not None and status >= 400)
        refused = sum(1 for _, status, _ in entries if status is None)
        rss = [r for at, r in memory if int(at // 60) == minute]
        print(f"{minute:>6}  {len(entries):>5}  {errors:>6}  {refused:>7}  {percentile(ok, 0.5):>6.1f}  "
              f"{percentile(ok, 0.99):>6.1f}  {min(rss, default=0):.0f}-{max(rss, default=0):.0f}")
        if errors:
            failures.append(f"minute {minute}: {errors} answers of 4xx/5xx")
    if kills == 0:
        # Memory is compared only without restarts: the first minute (warming caches) against the last.
        first = [r for at, r in memory if at < 60]
        last = [r for at, r in memory if at >= seconds - 60]
        if first and last and max(last) > max(first) * 1.10:
            failures.append(f"memory grew from {max(first):.0f} MB to {max(last):.0f} MB")
        else:
            print(f"== memory: first minute max {max(first, default=0):.0f} MB, last minute max "
                  f"{max(last, default=0):.0f} MB")

    settled = wait_settled(server.port)
    print(f"== queues drained: {settled}", flush=True)
    # Messages a killed process had leased come back when their lease runs out: wait until the
    # outbox has not grown for 30 s (at most 5 minutes).
    last, still_since, deadline = -1, time.time(), time.time() + 300
    while time.time() < deadline and time.time() - still_since < 30:
        written = sum(1 for entry in os.scandir(server.outbox) if entry.name.endswith(".eml"))
        if written != last:
            last, still_since = written, time.time()
        time.sleep(2)
    print(f"== outbox settled at {last} emails", flush=True)
    # Every acknowledged push left its checkpoint.
    missing = 0
    print(f"== pushes: {sum(len(s) for s in load.acked.values())} distinct stages acknowledged over "
          f"{len(load.acked)} shipments", flush=True)
    found = {}
    cursor = ""
    while True:
        status, data = call(server.port, "GET",
                            f"/tracking/2026-07/trackings?limit=200&slug=testing-courier&cursor={cursor}", key)
        page = json.loads(data)["data"]
        for tracking in page["trackings"]:
            found[tracking["tracking_number"]] = {c.get("message") for c in tracking.get("checkpoints", [])}
        if not page["pagination"]["has_next_page"]:
            break
        cursor = page["pagination"]["next_cursor"]
    for i, stages in load.acked.items():
        messages = found.get(number(i), set())
        missing += sum(1 for stage in stages if STAGES[stage][1] not in messages)
    print(f"== acknowledged pushes without their checkpoint: {missing}")
    if missing:
        failures.append(f"{missing} acknowledged pushes lost")

    # One email per shopper and status reached: none lost, none twice.
    subject = re.compile(rb"^Subject: (.*)$", re.M)
    to = re.compile(rb"^To: s(\d+)@soak\.example", re.M)
    emails = collections.defaultdict(list)
    for entry in os.scandir(server.outbox):
        if entry.name.endswith(".eml"):
            with open(entry.path, "rb") as file:
                head = file.read(4096)
            recipient, title = to.search(head), subject.search(head)
            if recipient and title:
                emails[int(recipient.group(1))].append(title.group(1).strip())
    twice = sum(len(subjects) - len(set(subjects)) for subjects in emails.values())
    lost = sum(1 for i, stages in load.acked.items() if len(set(emails.get(i, []))) < len(stages))
    over = sum(1 for i, subjects in emails.items() if len(set(subjects)) > len(load.attempted.get(i, ())))
    print(f"== emails: {sum(len(s) for s in emails.values())} to {len(emails)} shoppers; "
          f"sent twice: {twice}; shoppers missing one: {lost}; more than the statuses pushed: {over}")
    if twice or lost or over:
        failures.append(f"notifications: {twice} twice, {lost} shoppers short, {over} over")

    status, data = call(server.port, "GET", f"/porchlight/v1/imports/{job}", key)
    imported = json.loads(data)["data"]
    print(f"== import job: {imported['state']}, {imported['imported']} of {IMPORT_ROWS} rows imported "
          f"({imported['failed']} failed)")
    if imported["state"] != "done" or imported["imported"] != IMPORT_ROWS:
        failures.append(f"import job {imported['state']} with {imported['imported']} of {IMPORT_ROWS} rows")
    server.stop()
    if failures:
        print("error: " + "; ".join(failures))
        sys.exit(1)
    print("== soak passed")


if __name__ == "__main__":
    main()
