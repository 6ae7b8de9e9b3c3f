"""Shared pieces for the load benchmarks that drive a real gunicorn over loopback: an HTTP client
with its own cookies (a signed-in session, the CSRF cookie), latency samples with percentiles, and
starting and stopping the servers as child processes. Loopback only: every address is 127.0.0.1.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    body: str
    location: str
    request_id: str
    seconds: float


class Session:
    """One client: a persistent loopback connection and the cookies the server has set."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None):
        self.port = port
        self.cookies = dict(cookies or {})
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=120)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        headers = {"Host": LOOPBACK, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # gunicorn's sync workers close idle keep-alive connections: reconnect once. The
                # request was never answered, so it has not been counted or logged twice.
                self.close()
                if attempt == 2:
                    raise
        seconds = time.perf_counter() - start
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Response(response.status, data.decode("utf-8", "replace"), response.getheader("Location", ""),
                        response.getheader("X-Request-Id", ""), seconds)

    def csrf_token(self, path: str) -> str:
        """The CSRF token of the form on `path` (and the cookie that goes with it)."""
        page = self.request("GET", path)
        found = CSRF_FIELD.search(page.body)
        if page.status != 200 or not found:
            raise SystemExit(f"no form with a CSRF token on {path} ({page.status})")
        return found.group(1)


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def percentile(self, p: float) -> float:
        """In milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def wait_for_http(port: int, path: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before answering {path}")
        try:
            if Session(port).request("GET", path).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing answered {path} on {LOOPBACK}:{port} within {seconds:.0f} s")


def start_gunicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    """gunicorn (sync workers, as the production image runs it) on loopback."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "pause_portal.wsgi:application", "--bind",
         f"{LOOPBACK}:{port}", "--workers", str(workers), "--worker-class", "sync", "--timeout", "120",
         "--log-level", "warning", "--chdir", str(ROOT)],
        cwd=ROOT, env={**os.environ, **env})
    wait_for_http(port, "/healthz", process)
    return process


def start_celery_worker(env: dict[str, str], concurrency: int = 2) -> subprocess.Popen:
    """A real Celery worker (prefork, as in docker-compose), waiting until it answers a ping."""
    celery = str(Path(sys.executable).with_name("celery"))
    process = subprocess.Popen(
        [celery, "-A", "pause_portal", "worker", "--loglevel=WARNING", f"--concurrency={concurrency}",
         "--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL)  # its banner; warnings go to stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Celery worker exited ({process.returncode})")
        ping = subprocess.run([celery, "-A", "pause_portal", "inspect", "ping", "--timeout", "2"], cwd=ROOT,
                              env={**os.environ, **env}, capture_output=True, text=True)
        if ping.returncode == 0 and "pong" in ping.stdout:
            return process
        time.sleep(1)
    process.terminate()
    raise SystemExit("the Celery worker did not answer a ping within 60 s")


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
