"""A throw-away redis-server and real `celery -A config worker` processes, for the benches that time workers."""

import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_redis(folder: str):
    """(process, url) of a redis-server on a free port of 127.0.0.1, nothing saved; None without one."""
    if shutil.which("redis-server") is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    return None


@contextmanager
def celery_worker(workers: int, *options: str):
    """`celery -A config worker -c workers [options]`, entered once it says "ready"; stopped on leaving."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", str(workers), "--loglevel=INFO", *options],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in worker.stderr:
            if "ready." in line:
                break
        else:
            raise RuntimeError("the Celery worker did not start")
        threading.Thread(target=worker.stderr.read, daemon=True).start()  # keep reading its log: never blocks
        yield worker
    finally:
        worker.terminate()
        worker.wait(60)
