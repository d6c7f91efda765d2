"""Run localstripe for the tests, closing the gaps that matter to Prorata.

    python tests/stripe_server.py --state /tmp/run-123.pickle

prints ``port=NNNNN`` on its first line once it listens, then serves until killed.

What the wrapper changes, and why:
- it binds 127.0.0.1 on a free port (localstripe binds every interface on 8420);
- it keeps its state in the file given (localstripe writes /tmp/localstripe.pickle,
  shared by every run on the machine);
- it answers ``GET /v1/account``, which localstripe lacks and Stripe clients ask for;
- it honours ``Idempotency-Key`` on POST as Stripe does (the same key replays the first
  answer), which localstripe ignores — Prorata's "a retry never charges twice" relies on it;
  ``DELETE /_config/data`` (localstripe's reset) forgets those keys as well.
"""

import argparse
import asyncio
import os
import pickle
import socket
import sys
import threading
import time

from aiohttp import web
from localstripe import resources
from localstripe.server import app

_state_file = None
_idempotent: dict[str, tuple[int, bytes, str]] = {}


def _load(store):
    try:
        with open(_state_file, "rb") as f:
            old = pickle.load(f)
    except FileNotFoundError:
        return
    store.clear()
    store.update(old)


def _dump(store):
    with open(_state_file, "wb") as f:
        pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)


async def account(request):
    return web.json_response(
        {
            "id": "acct_localstripe",
            "object": "account",
            "business_profile": {"name": "localstripe"},
            "charges_enabled": True,
            "country": "US",
            "default_currency": "usd",
            "details_submitted": True,
            "email": "localstripe@example.com",
            "payouts_enabled": True,
            "settings": {"dashboard": {"display_name": "localstripe"}},
            "type": "standard",
        }
    )


@web.middleware
async def idempotency(request, handler):
    if request.method == "DELETE" and request.path == "/_config/data":
        _idempotent.clear()  # a flushed server forgets its keys too, as a fresh Stripe account would
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    scoped = f"{request.path}:{key}"
    if scoped in _idempotent:
        status, body, content_type = _idempotent[scoped]
        response = web.Response(status=status, body=body, content_type=content_type)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    response = await handler(request)
    if isinstance(response, web.Response) and response.status < 500:
        _idempotent[scoped] = (response.status, response.body, response.content_type)
    return response


def _exit_with_parent(parent: int) -> None:
    """A test run killed before its teardown leaves no server behind."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main(argv=None) -> None:
    global _state_file
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True, help="per-run state file (pickle)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    _state_file = args.state
    resources.Store.try_load_from_disk = _load
    resources.Store.dump_to_disk = _dump

    app.router.add_get("/v1/account", account)
    # Outermost, so a declined card's 402 is replayed too.
    app.middlewares.insert(0, idempotency)

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"port={sock.getsockname()[1]}", flush=True)

    asyncio.set_event_loop(asyncio.new_event_loop())
    web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    sys.exit(main())
