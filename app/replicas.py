"""A room's server: N copies (replicas) of the dashboard behind one port, so that a room's clicks use every core.

    python -m app.replicas [--replicas 2] [--address 127.0.0.1] [--port 8501]

One Streamlit server runs every session's script in one Python process, and a click's run holds the interpreter:
with 8 visitors clicking, each click queues behind the others' on one core while the other core idles
(bench/RESULTS.md). Here each replica is a whole ``streamlit run`` on a loopback port, and this process forwards
the page's requests and its websocket (Starlette and uvicorn, which Streamlit runs on; httpx and websockets).

A visitor stays on one replica: Streamlit keeps a session's state, its XSRF secret, its uploads and its media in
the process that served it. The first request without the ``othello_replica`` cookie goes to the replica with the
fewest open sessions, and the cookie sends every later request there (the page, its websocket, files). A
replica that exits is started again; its visitors' pages reconnect to it, as after a server restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, NamedTuple
from urllib.parse import urlparse

COOKIE = "othello_replica"
PROMISE = "othello_promise"  # a new visitor's promise (``Replicas``), from its page to its websocket
ROOT = Path(__file__).resolve().parent.parent
PROMISED_S = 30.0  # how long a new visitor sent to a replica counts there before its websocket opens
MAX_BODY = int(os.environ.get("OTHELLO_PROXY_MAX_BODY_MB", "32")) << 20  # a request body (a tour upload) at most
NO_BODY = {204, 304}  # answers that carry no body: their Content-Length, if any, is the upstream's
# headers that describe one connection, not the message: never forwarded
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}


class Pick(NamedTuple):
    index: int  # the replica
    new: bool  # no cookie placed the visitor: the answer sets it
    token: str | None  # the promise made for this new visitor (``Replicas``), if one was


class Replicas:
    """Which replica serves whom: the visitor's cookie, else the replica with the fewest visitors. A replica's
    visitors are its open sessions (websockets) and the new visitors sent to it in the last ``PROMISED_S`` whose
    websocket has not opened yet (each a promise with its own token, which the page carries in the ``PROMISE``
    cookie to its websocket). Counting open sessions alone sent a room opening the link at once all to one replica
    (each was picked before the others' websockets opened): with one session already open on one of 2 replicas, 8
    visitors arriving together all went to the other (bench/RESULTS.md, ninth session)."""

    def __init__(self, ports: list[int], clock: Callable[[], float] = time.monotonic):
        self.ports = ports
        self.sessions = [0] * len(ports)  # open websockets per replica
        self.promised: list[dict[str, float]] = [{} for _ in ports]  # token -> when the new visitor was sent there
        self._clock = clock
        self._turn = 0
        self._names = {str(i): i for i in range(len(ports))}

    def visitors(self, index: int) -> int:
        """Open sessions plus new visitors on their way (a promise counts for ``PROMISED_S``: a page that never
        opens its websocket stops counting)."""
        since = self._clock() - PROMISED_S
        self.promised[index] = {token: at for token, at in self.promised[index].items() if at >= since}
        return self.sessions[index] + len(self.promised[index])

    def pick(self, cookie: str | None, promise: bool = True) -> Pick:
        """The visitor's replica. ``promise``: a new visitor counts there from now (a page or a websocket; not a
        health check, which never opens a session, nor moves the turn in which ties are taken)."""
        if cookie in self._names:  # only "0" .. "N-1": a visitor's cookie is never parsed as a number
            return Pick(self._names[cookie], False, None)
        counts = [self.visitors(i) for i in range(len(self.ports))]
        fewest = min(counts)
        free = [i for i, n in enumerate(counts) if n == fewest]
        if not promise:
            return Pick(free[self._turn % len(free)], True, None)
        self._turn += 1
        index, token = free[self._turn % len(free)], secrets.token_hex(8)
        self.promised[index][token] = self._clock()
        return Pick(index, True, token)

    def withdraw(self, index: int, token: str | None) -> None:
        """A promise that cannot be kept (its request failed): it no longer counts."""
        self.promised[index].pop(token, None)

    def opened(self, index: int, token: str | None) -> None:
        """A websocket opened on replica ``index``: a session there; ``token``, the promise it keeps (none for a
        page that returns or reconnects: no newcomer's promise is taken for it)."""
        self.sessions[index] += 1
        self.withdraw(index, token)

    def closed(self, index: int) -> None:
        self.sessions[index] -= 1


def same_origin(origin: str | None, host: str | None) -> bool:
    """A websocket opened by a page this server served (or by a client that sends no Origin, like the benches):
    the check Streamlit makes itself, made here because the replica sees the proxy's connection."""
    return origin is None or urlparse(origin).netloc == host


def proxy_app(replicas: Replicas):
    """The Starlette app that forwards every request and the websocket to the visitor's replica."""
    import httpx
    import websockets
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    client = httpx.AsyncClient(timeout=httpx.Timeout(600.0), follow_redirects=False)

    too_large = PlainTextResponse(f"The request is larger than this server takes ({MAX_BODY >> 20} MB).",
                                  status_code=413)

    async def read_body(request: Request) -> bytes | None:
        """The request's body, or None past ``MAX_BODY`` (read no further: a visitor cannot fill the memory)."""
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def forward(request: Request) -> Response:
        page = request.method == "GET" and "text/html" in request.headers.get("accept", "")  # a browser opening it
        chosen = replicas.pick(request.cookies.get(COOKIE), promise=page)
        response = await answer(request, chosen.index)
        if response.status_code >= 400:  # not served: the visitor comes back as new, so the promise is not kept
            replicas.withdraw(chosen.index, chosen.token)
        elif chosen.new:
            response.set_cookie(COOKIE, str(chosen.index), httponly=True, samesite="lax")
            if chosen.token:
                response.set_cookie(PROMISE, chosen.token, max_age=int(PROMISED_S), httponly=True, samesite="lax")
        return response

    async def answer(request: Request, index: int) -> Response:
        """The replica's answer to the request, as it sent it."""
        body = await read_body(request)
        if body is None:
            return too_large
        # the path and query as the browser sent them (still percent-encoded), not as Starlette decoded them
        target = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        query = request.scope.get("query_string", b"").decode("latin-1")
        url = f"http://127.0.0.1:{replicas.ports[index]}{target}" + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP]
        try:
            async with client.stream(request.method, httpx.URL(url), headers=headers, content=body) as upstream:
                content = b"".join([c async for c in upstream.aiter_raw()])  # as sent: compressed stays compressed
        except httpx.InvalidURL:
            return PlainTextResponse("The request's address is not one this server can pass on.", status_code=400)
        except httpx.HTTPError as err:
            return PlainTextResponse(f"The dashboard's replica {index} did not answer ({type(err).__name__}); "
                                     "it is being restarted: reload the page in a few seconds.", status_code=502)
        bodiless = request.method == "HEAD" or upstream.status_code in NO_BODY
        response = Response(b"" if bodiless else content, status_code=upstream.status_code)
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in upstream.headers.multi_items()
                                if k.lower() not in HOP_BY_HOP or (bodiless and k.lower() == "content-length")]
        if not bodiless:
            response.raw_headers.append((b"content-length", str(len(content)).encode()))
        return response

    async def stream(browser: WebSocket) -> None:
        if not same_origin(browser.headers.get("origin"), browser.headers.get("host")):
            await browser.close(code=1008)
            return
        chosen = replicas.pick(browser.cookies.get(COOKIE))
        index = chosen.index
        offered = [p.strip() for p in browser.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        cookie = browser.headers.get("cookie")
        url = f"ws://127.0.0.1:{replicas.ports[index]}{browser.url.path}"
        try:
            upstream = await websockets.connect(url, subprotocols=offered or None, max_size=None, compression=None,
                                                additional_headers={"Cookie": cookie} if cookie else None)
        except (OSError, websockets.WebSocketException):
            replicas.withdraw(index, chosen.token)
            await browser.close(code=1013)  # try again later: the page reconnects
            return
        try:
            await browser.accept(subprotocol=upstream.subprotocol)
        except Exception:
            replicas.withdraw(index, chosen.token)
            await upstream.close()
            raise
        replicas.opened(index, chosen.token or browser.cookies.get(PROMISE))  # its own promise, or its page's

        closed = (websockets.ConnectionClosed, WebSocketDisconnect, RuntimeError)  # either side went away

        async def down() -> None:  # replica -> browser
            with contextlib.suppress(*closed):
                async for message in upstream:
                    if isinstance(message, bytes):
                        await browser.send_bytes(message)
                    else:
                        await browser.send_text(message)

        async def up() -> None:  # browser -> replica
            with contextlib.suppress(*closed):
                while True:
                    message = await browser.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    await upstream.send(message["bytes"] if message.get("bytes") is not None else message["text"])

        tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            replicas.closed(index)
            await upstream.close()
            with contextlib.suppress(RuntimeError):
                await browser.close()

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await client.aclose()

    return Starlette(routes=[WebSocketRoute("/{path:path}", stream), Route("/{path:path}", forward, methods=methods)],
                     lifespan=lifespan)


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (all bound before any is let go, so none comes back twice)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _die_with_parent() -> None:
    """In a replica, before it runs: the kernel sends it SIGTERM when this process dies, even by SIGKILL."""
    import ctypes
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_replica(port: int, extra: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py", "--server.headless",
                             "true", "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", *extra], cwd=ROOT,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def local_url(port: int, base: str = "") -> str:
    """The address of a server on loopback ``port`` under ``base`` (its ``server.baseUrlPath``), no slash at the end.

    >>> local_url(8501), local_url(8501, "/room/")
    ('http://127.0.0.1:8501', 'http://127.0.0.1:8501/room')
    """
    return "/".join(filter(None, (f"http://127.0.0.1:{port}", base.strip("/"))))


def healthy(port: int, timeout: float = 180.0, base: str = "") -> bool:
    """Whether the Streamlit server (or this proxy) on loopback ``port`` (under ``base``, its
    ``server.baseUrlPath``) answers its health check within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{local_url(port, base)}/_stcore/health", timeout=2).read() == b"ok":
                return True
        time.sleep(0.3)
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2,
                        help="Streamlit processes, each with its own model (at most one a core helps)")
    parser.add_argument("--address", default="127.0.0.1", help="0.0.0.0 to serve other machines (a room)")
    parser.add_argument("--port", type=int, default=8501)
    args, extra = parser.parse_known_args(argv)  # the rest goes to each `streamlit run` (--server.* options)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if any(arg.startswith(("--server.port", "--server.address")) for arg in extra):
        parser.error("give the address and port as --address and --port: each replica listens on its own "
                     "loopback port")
    import uvicorn
    ports = free_ports(args.replicas)
    procs: list[subprocess.Popen] = []
    server = uvicorn.Server(uvicorn.Config(proxy_app(Replicas(ports)), host=args.address, port=args.port,
                                           log_level="warning", ws_max_size=1 << 27))
    def stop(*_) -> None:  # a SIGTERM before the proxy serves (replicas still starting) stops the start too
        server.should_exit = True
        if not server.started:
            raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)

    async def keep_alive() -> None:  # a replica that exits is started again on its port, 2 s later at the soonest
        while True:
            await asyncio.sleep(2)
            for i, proc in enumerate(procs):
                if proc.poll() is not None and not server.should_exit:
                    print(f"replica {i} exited ({proc.returncode}); starting it again", flush=True)
                    procs[i] = start_replica(ports[i], extra)

    async def serve() -> None:
        watcher = asyncio.create_task(keep_alive())
        try:
            await server.serve()
        finally:
            watcher.cancel()

    try:  # from the first replica on: whatever ends this process ends them (and they die with it: PDEATHSIG)
        procs += [start_replica(port, extra) for port in ports]
        for port in ports:
            if not healthy(port):
                raise SystemExit(f"the replica on port {port} did not answer its health check within 180 s")
        print(f"{args.replicas} replicas ready; serving http://{args.address}:{args.port}", flush=True)
        asyncio.run(serve())
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()


if __name__ == "__main__":
    main()
