"""Issue 10's load benchmark: 50 concurrent clients of mixed roles for 60 s against gunicorn,
PostgreSQL and a real Celery worker on Redis, all on loopback — and nothing lost.

The clients, each signed in as a person of their own, in one programme in delivery:
- practitioners: their caseload, a woman's page, her casework page; now and then a contact attempt
  (a POST, through the form's CSRF token);
- caseworkers: the decision queue and a woman's record;
- Pause leads: the released women list and a woman's page;
- Trust leads: the concerns list and a concern;
- DPOs: a person search of the audit trail (POST, with a reason) and its results page.
While they run, the benchmark asks the worker to seal the audit trail every 15 s (the beat
schedule's job, `audit.seal_pending`).

Printed: requests per second, p50 and p95 latency (all requests and per page), and the count of
5xx answers, which must be zero; beside them a baseline from the same run: the same clients on
`/healthz` (a database query and a broker check, no page) for `--baseline-seconds`. Then, nothing lost: every record each response showed is a
subject of an audit entry written by that very request (matched by its X-Request-Id): the women in
a list (ids read from the page), the woman, her children and the concern of an object page (ids
the benchmark knows it asked for), the woman a DPO searched for; and every POST wrote its entry.
Finally `manage.py seal_audit_trail --checkpoint` and `manage.py verify_audit_trail` must pass.

A dedicated database `bench_load_mixed` (dropped first if a killed run left it, dropped at the
end), Redis database 14 (emptied before and after) and a temporary checkpoint folder. Loopback
only. Exit status 0 only when everything above holds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/load_mixed.py [--seconds 60] [--clients 50] [--workers 4]
"""

from __future__ import annotations

import os
import sys
import tempfile

REDIS_DB_URL = "redis://127.0.0.1:6379/14"
CHECKPOINTS = tempfile.mkdtemp(prefix="bench-load-mixed-checkpoints-")
# The benchmark process sends tasks to the same broker as the processes it starts: set before Django.
os.environ.update(PORTAL_ENV="test", DJANGO_SETTINGS_MODULE="bench.load_mixed_settings", REDIS_URL=REDIS_DB_URL,
                  PORTAL_AUDIT_CHECKPOINT_DIR=CHECKPOINTS)

import argparse  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from _load_common import ROOT, Sample, Session, free_port, start_celery_worker, start_gunicorn, stop  # noqa: E402
from _setup import connection  # noqa: E402  (Django set up)
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

DATABASE = "bench_load_mixed"
SEAL_EVERY = 15.0
# Of every 50 clients.
MIX = {"practitioner": 22, "caseworker": 8, "pause_lead": 8, "trust_lead": 6, "dpo": 6}
LIST_IDS = {  # list pages: the records a response showed, read from its HTML
    "/delivery/caseload/": (re.compile(r'id="released-(\d+)"'), "sharing.releasedwoman"),
    "/delivery/women/": (re.compile(r'id="released-(\d+)"'), "sharing.releasedwoman"),
    "/records/eligibility/": (re.compile(r'href="/records/women/(\d+)/"'), "eligibility.woman"),
    "/casework/concerns/": (re.compile(r'href="/casework/concerns/(\d+)/"'), "sharing.safeguardingconcern"),
}


@dataclass
class World:
    programme: object
    people: dict[str, list]          # role -> people, one client each
    caseloads: dict[int, list[int]]  # practitioner id -> released women ids
    released: list[int]
    children: dict[int, list[int]]   # released woman id -> released children ids
    women: list[int]                 # every woman of the programme
    woman_of_released: dict[int, int]
    concerns: dict[int, int]         # concern id -> woman id
    trust_ids: dict[int, str]        # woman id -> Trust person id (for the DPO's searches)


@dataclass
class Answer:
    role: str
    page: str          # the address with ids replaced, for the per-page table
    method: str
    status: int
    seconds: float
    request_id: str
    shown: frozenset   # references of the records it showed
    must_log: bool     # a write or search: it must have written an entry


def seed(clients: int, caseload: int) -> World:
    from eligibility.models import Woman
    from eligibility.recompute import recompute
    from pause_portal.tenancy.roles import Role
    from pseudonymisation.fields import Protector
    from sharing.concerns import raise_concern
    from sharing.models_delivery import ConcernKind, ReleasedChild
    from tests.sharing.delivery.world import delivery_world
    from tests.sharing.test_scoping_world import member

    world = delivery_world(women=0, name="Bench mixed load")
    programme = world.programme
    counts = {role: max(1, round(n * clients / 50)) for role, n in MIX.items()}
    counts["practitioner"] += clients - sum(counts.values())
    roles = {"practitioner": Role.PAUSE_PRACTITIONER, "caseworker": Role.TRUST_CASEWORKER,
             "pause_lead": Role.PAUSE_LEAD, "trust_lead": Role.TRUST_LEAD, "dpo": Role.DPO}
    own = {"practitioner": list(world.practitioners), "pause_lead": [world.pause_lead],
           "trust_lead": [world.trust_lead]}
    people = {}
    for role, n in counts.items():
        mine = own.get(role, [])[:n]
        people[role] = mine + [member(programme, roles[role]) for _ in range(n - len(mine))]
    caseloads, released_ids = {}, []
    for practitioner in people["practitioner"]:
        mine = world.release(world.women(caseload))
        for r in mine:
            world.assign(r, practitioner)
        caseloads[practitioner.pk] = [r.pk for r in mine]
        released_ids += caseloads[practitioner.pk]
    world.women(20)  # decided but not released: the queue has more than Pause sees
    recompute(programme, by=world.trust_lead)
    concerns = {}
    for r in world.released[:: max(1, len(world.released) // 20)]:
        by = next(p for p in people["practitioner"] if r.pk in caseloads[p.pk])
        c = raise_concern(r, by=by, kind=ConcernKind.SAFEGUARDING,
                          summary="Synthetic concern for the load benchmark")
        concerns[c.pk] = r.woman_id
    children = defaultdict(list)
    for child_id, released_id in ReleasedChild.objects.filter(released_woman_id__in=released_ids).values_list(
            "pk", "released_woman_id"):
        children[released_id].append(child_id)
    protector = Protector.load(programme.pk, Woman.key_phase)
    women = list(Woman.objects.filter(programme=programme).order_by("pk"))
    return World(programme=programme, people=people, caseloads=caseloads, released=released_ids,
                 children=dict(children), women=[w.pk for w in women],
                 woman_of_released={r.pk: r.woman_id for r in world.released}, concerns=concerns,
                 trust_ids={w.pk: w.reveal(protector, "trust_person_id") for w in women})


# --- what each role asks for -------------------------------------------------------------------
def _refs(label: str, ids) -> frozenset:
    return frozenset(f"{label}:{pk}" for pk in ids)


def _from_list(path: str, body: str) -> frozenset:
    pattern, label = LIST_IDS[path]
    return _refs(label, {int(m) for m in pattern.findall(body)})


class RoleClient:
    """One client's turn-by-turn plan: it cycles through its role's requests, each time on the
    next record, from an offset of its own."""

    def __init__(self, role: str, person, world: World, session: Session, offset: int):
        self.role, self.person, self.world, self.session, self.turn = role, person, world, session, offset
        self.csrf = ""

    def prepare(self) -> None:
        if self.role == "practitioner":
            first = self.world.caseloads[self.person.pk][0]
            self.csrf = self.session.csrf_token(f"/casework/women/{first}/contact/")
        elif self.role == "dpo":
            self.csrf = self.session.csrf_token("/dpo/")

    def _pick(self, ids: list[int]) -> int:
        return ids[(self.turn * 7) % len(ids)]

    def step(self) -> list[Answer]:
        self.turn += 1
        w = self.world
        if self.role == "practitioner":
            mine = w.caseloads[self.person.pk]
            released = self._pick(mine)
            plan = ["/delivery/caseload/", "woman", "casework", "/delivery/caseload/", "woman", "contact"]
            what = plan[self.turn % len(plan)]
            if what == "woman":
                return [self._get(f"/delivery/women/{released}/", "/delivery/women/<id>/",
                                  _refs("sharing.releasedwoman", [released])
                                  | _refs("sharing.releasedchild", w.children.get(released, [])))]
            if what == "casework":
                return [self._get(f"/casework/women/{released}/", "/casework/women/<id>/",
                                  _refs("sharing.releasedwoman", [released]))]
            if what == "contact":
                today = time.localtime()
                return [self._post(f"/casework/women/{released}/contact/", "/casework/women/<id>/contact/", {
                    "contacted_day": today.tm_mday, "contacted_month": today.tm_mon, "contacted_year": today.tm_year,
                    "method": "phone", "outcome": "not_reached", "note": ""}, frozenset())]
            return [self._get(what, what, None)]
        if self.role == "caseworker":
            if self.turn % 2:
                return [self._get("/records/eligibility/", "/records/eligibility/", None)]
            woman = self._pick(w.women)
            return [self._get(f"/records/women/{woman}/", "/records/women/<id>/", _refs("eligibility.woman", [woman]))]
        if self.role == "pause_lead":
            if self.turn % 2:
                return [self._get("/delivery/women/", "/delivery/women/", None)]
            released = self._pick(w.released)
            return [self._get(f"/delivery/women/{released}/", "/delivery/women/<id>/",
                              _refs("sharing.releasedwoman", [released])
                              | _refs("sharing.releasedchild", w.children.get(released, [])))]
        if self.role == "trust_lead":
            if self.turn % 2:
                return [self._get("/casework/concerns/", "/casework/concerns/", None)]
            concern = self._pick(sorted(w.concerns))
            return [self._get(f"/casework/concerns/{concern}/", "/casework/concerns/<id>/",
                              _refs("sharing.safeguardingconcern", [concern])
                              | _refs("eligibility.woman", [w.concerns[concern]]))]
        # the DPO: a person search by Trust person ID, then its results
        woman = self._pick(w.women)
        search = self._post("/dpo/person/", "/dpo/person/", {
            "person-kind": "person_id", "person-value": w.trust_ids[woman],
            "person-reason": "Routine sample of access to records"}, _refs("eligibility.woman", [woman]))
        answers = [search]
        if search.status == 302:
            answers.append(self._get(urlsplit(self._location).path, "/dpo/searches/<id>/", frozenset()))
        return answers

    def _get(self, path: str, page: str, shown: frozenset | None) -> Answer:
        r = self.session.request("GET", path)
        if shown is None:
            shown = _from_list(path, r.body) if r.status == 200 else frozenset()
        return Answer(self.role, page, "GET", r.status, r.seconds, r.request_id, shown, False)

    def _post(self, path: str, page: str, form: dict, shown: frozenset) -> Answer:
        r = self.session.request("POST", path, {**form, "csrfmiddlewaretoken": self.csrf})
        self._location = r.location
        return Answer(self.role, page, "POST", r.status, r.seconds, r.request_id, shown, True)


def run_clients(clients: list[RoleClient], seconds: float, into: list[Answer], seal) -> float:
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def loop(client: RoleClient) -> None:
        mine = []
        while time.perf_counter() < deadline:
            try:
                mine += client.step()
            except OSError as exc:
                mine.append(Answer(client.role, "connection", "GET", 0, 0.0, "", frozenset(), False))
                print(f"connection error: {exc}", file=sys.stderr)
        with lock:
            into.extend(mine)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    began = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        seal()
        time.sleep(0.5)
    for t in threads:
        t.join()
    return time.perf_counter() - began


def run_baseline(clients: list[RoleClient], seconds: float) -> tuple[Sample, int, float]:
    """The same clients on `/healthz` (a database query and a broker check, no page): the
    stack's floor on this machine, measured right after the mixed load."""
    deadline = time.perf_counter() + seconds
    sample, errors, lock = Sample(), [0], threading.Lock()

    def loop(session: Session) -> None:
        mine, bad = [], 0
        while time.perf_counter() < deadline:
            r = session.request("GET", "/healthz")
            if r.status == 200:
                mine.append(r.seconds)
            else:
                bad += 1
        with lock:
            sample.latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=loop, args=(c.session,)) for c in clients]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sample, errors[0], time.perf_counter() - began


# --- nothing lost --------------------------------------------------------------------------------
def check_trail(answers: list[Answer], since: int) -> dict:
    from audit.core.models import AuditEntry, AuditSubject

    entries = dict(AuditEntry.objects.filter(pk__gt=since).values_list("pk", "request_id"))
    by_request: dict[str, set[str]] = defaultdict(set)
    logged = Counter(entries.values())
    for entry_id, subject in AuditSubject.objects.filter(entry_id__gt=since).values_list("entry_id", "subject"):
        by_request[entries[entry_id]].add(subject)
    shown = sum(len(a.shown) for a in answers)
    missing = [(a.page, sorted(a.shown - by_request[a.request_id])[:3]) for a in answers if a.shown - by_request[a.request_id]]
    unlogged = [a.page for a in answers if a.must_log and not logged[a.request_id]]
    no_id = sum(1 for a in answers if a.status and not a.request_id)
    return {"shown": shown, "found": shown - sum(len(a.shown - by_request[a.request_id]) for a in answers),
            "missing": missing, "unlogged": unlogged, "writes": sum(a.must_log for a in answers), "no_id": no_id,
            "empty_lists": sum(1 for a in answers if a.page in LIST_IDS and a.status == 200 and not a.shown)}


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True)


def drain(env: dict, timeout: float = 120) -> None:
    """Wait until the worker has taken every task queued on its Redis database."""
    import redis

    queue = redis.Redis.from_url(REDIS_DB_URL)
    deadline = time.monotonic() + timeout
    while queue.llen("celery") and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # the last task taken may still be running


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--caseload", type=int, default=8, help="women in each practitioner's caseload (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="the same clients on /healthz after")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/load_mixed.py runs against PostgreSQL: set DATABASE_URL=postgres://...@127.0.0.1/...")
    if (connection.settings_dict["HOST"] or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/load_mixed.py runs on loopback only: DATABASE_URL must name 127.0.0.1")
    import redis

    from pause_portal.celery import app

    broker = redis.Redis.from_url(REDIS_DB_URL)
    broker.flushdb()  # database 14 is this benchmark's own: a killed run's messages go
    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    db = connection.settings_dict
    env = {"PORTAL_ENV": "test", "DJANGO_SETTINGS_MODULE": "bench.load_mixed_settings", "REDIS_URL": REDIS_DB_URL,
           "PORTAL_AUDIT_CHECKPOINT_DIR": CHECKPOINTS,
           "DATABASE_URL": f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}@"
                           f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    gunicorn = worker = None
    answers: list[Answer] = []
    try:
        began = time.perf_counter()
        world = seed(args.clients, args.caseload)
        from tests.conftest import sign_in_verified

        cookie = settings.SESSION_COOKIE_NAME
        worker = start_celery_worker(env, args.worker_concurrency)
        port = free_port()
        gunicorn = start_gunicorn(port, args.workers, env)
        clients, offset = [], 0
        for role, people in world.people.items():
            for person in people:
                session = Session(port, {cookie: sign_in_verified(Client(), person).cookies[cookie].value})
                clients.append(RoleClient(role, person, world, session, offset))
                offset += 1
        for c in clients:
            c.prepare()
        print(f"seeded {len(world.released)} released women in {len(world.caseloads)} caseloads, "
              f"{len(world.women)} women, {len(world.concerns)} concerns; {len(clients)} clients signed in "
              f"({', '.join(f'{len(p)} {r}' for r, p in world.people.items())}) in {time.perf_counter() - began:.0f}s")

        from audit.core.models import AuditEntry, AuditSeal

        since = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        last_seal = [0.0]

        def seal() -> None:
            if time.perf_counter() - last_seal[0] >= SEAL_EVERY:
                app.send_task("audit.seal_pending")
                last_seal[0] = time.perf_counter()

        elapsed = run_clients(clients, args.seconds, answers, seal)
        baseline, baseline_errors, baseline_elapsed = run_baseline(clients, args.baseline_seconds)
        for c in clients:
            c.session.close()
        drain(env)
        sealed_by_worker = AuditSeal.objects.count()
        trail = check_trail(answers, since)
        sealing = manage(env, "seal_audit_trail", "--checkpoint")
        verifying = manage(env, "verify_audit_trail")
    finally:
        stop(gunicorn)
        stop(worker)
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
        broker.flushdb()
        shutil.rmtree(CHECKPOINTS, ignore_errors=True)

    ok = [a for a in answers if a.status in (200, 302)]
    server_errors = [a for a in answers if a.status >= 500]
    other = Counter((a.page, a.status) for a in answers if a.status not in (200, 302) and a.status < 500)
    total = Sample([a.seconds for a in ok])
    print(f"\nPostgreSQL, gunicorn ({args.workers} sync workers) and a Celery worker (prefork, "
          f"{args.worker_concurrency} processes) on Redis db 14, all on 127.0.0.1; {len(clients)} concurrent "
          f"clients for {elapsed:.0f} s; {os.cpu_count()} CPUs (shared)")
    print(f"{'page':<34}{'method':>7}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}{'5xx':>6}")
    by_page = defaultdict(list)
    for a in answers:
        by_page[(a.page, a.method)].append(a)
    for (page, method), rows in sorted(by_page.items()):
        s = Sample([a.seconds for a in rows])
        print(f"{page:<34}{method:>7}{len(rows):>10}{s.percentile(50):>9.0f}{s.percentile(95):>9.0f}"
              f"{sum(a.status >= 500 for a in rows):>6}")
    print(f"{'all':<34}{'':>7}{len(answers):>10}{total.percentile(50):>9.0f}{total.percentile(95):>9.0f}"
          f"{len(server_errors):>6}")
    rate, floor = len(ok) / elapsed, len(baseline.latencies) / baseline_elapsed
    print(f"throughput: {rate:.1f} requests/s answered 200/302 ({len(answers)} requests in {elapsed:.1f} s)")
    print(f"baseline, the same clients on /healthz for {baseline_elapsed:.0f} s: {floor:.1f} requests/s, p50 "
          f"{baseline.percentile(50):.0f} ms, p95 {baseline.percentile(95):.0f} ms, {baseline_errors} not 200 "
          f"-> mixed / baseline {rate / floor if floor else 0:.2f}")
    if other:
        print("other answers: " + ", ".join(f"{page} {status} x{n}" for (page, status), n in sorted(other.items())))
    print(f"nothing lost: {trail['found']} of {trail['shown']} records shown are subjects of their request's audit "
          f"entry; {trail['writes'] - len(trail['unlogged'])} of {trail['writes']} POSTs wrote theirs; "
          f"{trail['empty_lists']} list pages showed nobody")
    for page, refs in trail["missing"][:10]:
        print(f"  NOT LOGGED on {page}: {refs}")
    print(f"background sealer (the Celery worker, every {SEAL_EVERY:.0f} s): {sealed_by_worker} entries sealed by the "
          f"end of the load")
    for name, done in (("seal_audit_trail --checkpoint", sealing), ("verify_audit_trail", verifying)):
        said = " ".join(part.strip() for part in (done.stdout, done.stderr) if part.strip()).replace("\n", " ")
        print(f"{name} (exit {done.returncode}): {said}")
    failures = []
    if baseline_errors:
        failures.append(f"{baseline_errors} /healthz answers were not 200")
    if server_errors:
        failures.append(f"{len(server_errors)} answers were 5xx")
    if other:
        failures.append(f"{sum(other.values())} answers were neither 200 nor 302")
    if trail["missing"] or trail["unlogged"] or trail["no_id"]:
        failures.append(f"{len(trail['missing'])} responses showed records their entry does not name, "
                        f"{len(trail['unlogged'])} POSTs wrote no entry, {trail['no_id']} had no request id")
    if trail["empty_lists"]:
        failures.append(f"{trail['empty_lists']} list pages showed nobody (nothing was checked for them)")
    if sealing.returncode or verifying.returncode or "0 entries not yet sealed" not in verifying.stdout:
        failures.append("the audit trail was not sealed and verified")
    if not sealed_by_worker:
        failures.append("the Celery worker sealed nothing during the load")
    if failures:
        print("\nFAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("\nOK: no 5xx, every record shown logged, the audit trail sealed and verified.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
