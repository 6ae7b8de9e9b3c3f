"""`make demo`: the web server (gunicorn, 127.0.0.1 only) and a Celery worker on the filesystem
broker, started together and stopped together (Ctrl+C)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("The demo serves on the loopback address only.")
    env = {**os.environ, "PORTAL_ENV": "demo"}
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "pause_portal", "worker", "--beat", "--pool=solo", "--loglevel=warning",
         "--queues=celery,audit_owner",  # the demo's one worker: SQLite has no roles (ADR 40)
         "--schedule=var/celerybeat-schedule"],
        env=env,
    )
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "pause_portal.wsgi:application", "--bind", f"{args.host}:{args.port}",
         "--workers", "2", "--threads", "4", "--access-logfile", "-", "--log-level", "warning"],
        env=env,
    )
    print(f"\nThe portal is at http://{args.host}:{args.port}/  (Ctrl+C stops the web server and the worker)\n", flush=True)
    children = [web, worker]

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return max((c.returncode or 0) for c in children)


if __name__ == "__main__":
    sys.exit(main())
