"""Issue 7's load benchmark: the practitioner's caseload page (50 assigned women) under 20
concurrent clients against gunicorn and PostgreSQL on loopback, beside its baseline in the same run.

- Logged: `/delivery/caseload/`, the product page: one disclosure entry naming all 50 women per
  request, written in the request.
- Baseline: `/bench/caseload-baseline/`, served by the same gunicorn (bench/load_settings.py adds
  it; bench/load_urls.py holds it): the same queries and template, the disclosure policy's checks
  but not its audit write. No product setting turns auditing off.

The two pages take turns (`--rounds` slices each, order alternating), so a noisy neighbour hurts
both alike; each page gets `--seconds` of load in all. Then every logged request's subjects are
counted in the audit trail (AuditSubject rows of the run = logged requests x women), and the
baseline must have written none.

A dedicated database `bench_load` is created (dropped first if a killed run left it) and dropped
at the end. Loopback only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres PORTAL_ENV=test \\
        .venv/bin/python bench/load.py [--seconds 30] [--clients 20] [--women 50] [--workers 4] [--rounds 10]

Target: the logged page keeps at least 0.80 of the baseline's requests per second.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _setup import connection  # noqa: F401  (Django set up, test mode)
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment

TARGET_RATIO = 0.80
DATABASE = "bench_load"
LOGGED, BASELINE = "/delivery/caseload/", "/bench/caseload-baseline/"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000 if ordered else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def load(port: int, path: str, cookies: list[str], seconds: float, into: Sample) -> None:
    """Each client (one thread, its own session) requests `path` back to back for `seconds`."""
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(cookie: str) -> None:
        mine, errors = [], 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                status, _ = fetch(port, path, cookie)
            except OSError:
                status = 0
            if status == 200:
                mine.append(time.perf_counter() - start)
            else:
                errors += 1
        with lock:
            into.latencies.extend(mine)
            into.errors += errors

    threads = [threading.Thread(target=client, args=(c,)) for c in cookies]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    into.seconds += time.perf_counter() - began


def seed(practitioners: int, women: int):
    """A delivery programme: `practitioners` practitioners, each with `women` women in their caseload."""
    from pause_portal.tenancy.roles import Role
    from tests.sharing.delivery.world import delivery_world
    from tests.sharing.test_scoping_world import member

    world = delivery_world(women=0, name="Bench delivery")
    people = [*world.practitioners, *(member(world.programme, Role.PAUSE_PRACTITIONER)
                                      for _ in range(max(0, practitioners - len(world.practitioners))))]
    people = people[:practitioners]
    for person in people:
        for released in world.release(world.women(women)):
            world.assign(released, person)
    return world, people


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.load_settings", "PORTAL_ENV": "test",
           "DATABASE_URL": _database_url()}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "pause_portal.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync", "--timeout", "120",
         "--log-level", "warning", "--chdir", str(ROOT)],
        cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if fetch(port, "/healthz", "")[0] == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def audit_counts(since: int, women: int) -> dict:
    from audit.core.models import AuditEntry, AuditSubject, Event

    logged = AuditEntry.objects.filter(pk__gt=since, event=Event.DISCLOSURE, page=LOGGED)
    return {
        "entries": logged.count(),
        "subjects": AuditSubject.objects.filter(entry__in=logged).count(),
        "short_entries": logged.exclude(subject_count=women).count(),
        "baseline_entries": AuditEntry.objects.filter(pk__gt=since, page=BASELINE).count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load per page, in all (default 30)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--women", type=int, default=50, help="women in each caseload (default 50)")
    parser.add_argument("--practitioners", type=int, default=0,
                        help="practitioners the clients sign in as, in turn (default: one per client)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--rounds", type=int, default=10, help="turns each page takes (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/load.py runs against PostgreSQL: set DATABASE_URL=postgres://...@127.0.0.1/...")
    if (connection.settings_dict["HOST"] or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/load.py runs on loopback only: DATABASE_URL must name 127.0.0.1")

    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    process = None
    try:
        began = time.perf_counter()
        world, people = seed(args.practitioners or args.clients, args.women)
        cookie_name = settings.SESSION_COOKIE_NAME
        from tests.conftest import sign_in_verified

        cookies = [f"{cookie_name}={sign_in_verified(Client(), people[i % len(people)]).cookies[cookie_name].value}"
                   for i in range(args.clients)]
        print(f"seeded {len(people)} practitioners x {args.women} women in {time.perf_counter() - began:.0f}s")
        port = _free_port()
        process = start_gunicorn(port, args.workers)
        for path in (LOGGED, BASELINE):  # both pages serve the whole caseload
            status, body = fetch(port, path, cookies[0])
            rows = body.decode().count('id="released-')
            assert status == 200 and rows == args.women, (path, status, rows)
        load(port, LOGGED, cookies, args.warmup, Sample())
        load(port, BASELINE, cookies, args.warmup, Sample())

        from audit.core.models import AuditEntry

        since = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        samples = {LOGGED: Sample(), BASELINE: Sample()}
        turn_ratios = []
        for turn in range(args.rounds):
            order = (BASELINE, LOGGED) if turn % 2 == 0 else (LOGGED, BASELINE)
            turn_samples = {path: Sample() for path in order}
            for path in order:
                load(port, path, cookies, args.seconds / args.rounds, turn_samples[path])
                samples[path].latencies += turn_samples[path].latencies
                samples[path].errors += turn_samples[path].errors
                samples[path].seconds += turn_samples[path].seconds
            if turn_samples[BASELINE].rate:
                turn_ratios.append(turn_samples[LOGGED].rate / turn_samples[BASELINE].rate)
        counts = audit_counts(since, args.women)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)

    logged, base = samples[LOGGED], samples[BASELINE]
    ratio = logged.rate / base.rate if base.rate else 0.0
    expected = len(logged.latencies) * args.women
    print(f"PostgreSQL and gunicorn ({args.workers} sync workers) on 127.0.0.1; {args.clients} concurrent clients, "
          f"{len(people)} practitioners with {args.women} women each; {args.seconds:.0f}s per page in {args.rounds} "
          f"interleaved turns; {os.cpu_count()} CPUs (shared)")
    print(f"{'page':<52}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'errors':>8}")
    for label, s in (("baseline: same queries and template, no audit write", base),
                     (f"logged: the caseload page (one entry, {args.women} subjects)", logged)):
        print(f"{label:<52}{len(s.latencies):>9}{s.rate:>8.1f}{s.percentile(50):>8.0f}{s.percentile(95):>8.0f}"
              f"{s.errors:>8}")
    print("each turn's ratio: " + " ".join(f"{r:.2f}" for r in turn_ratios)
          + f" (median {statistics.median(turn_ratios):.2f})")
    print(f"logged / baseline throughput: {ratio:.2f} (target >= {TARGET_RATIO:.2f}) -> "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    complete = (counts["entries"] == len(logged.latencies) and counts["subjects"] == expected
                and counts["short_entries"] == 0 and counts["baseline_entries"] == 0)
    print(f"audit trail: {counts['entries']} entries for {len(logged.latencies)} logged requests, "
          f"{counts['subjects']} subjects for {expected} expected ({len(logged.latencies)} x {args.women}); "
          f"{counts['baseline_entries']} entries from the baseline -> {'complete' if complete else 'INCOMPLETE'}")
    return 0 if ratio >= TARGET_RATIO and complete and not logged.errors and not base.errors else 1


if __name__ == "__main__":
    sys.exit(main())
