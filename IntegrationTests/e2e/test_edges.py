"""The edges of the stack that nginx answers itself: every error it generates is JSON with the right
status and an X-Request-Id, API responses are never cached, a pool with no free worker answers 503
in bounded time, and one address cannot take every connection or every worker."""
import http.client
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def tls_connection(stack, source_address=None, timeout=10):
    context = ssl.create_default_context(cafile=str(stack.cert))
    raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=timeout, source_address=source_address)
    return context.wrap_socket(raw, server_hostname="localhost")


def read_response(connection):
    """One HTTP/1.1 response as (status, headers with lower-case names, body): reads to the end of
    its Content-Length (nginx may keep a refused request's connection open to drain its body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = int(headers["content-length"][0]) if "content-length" in headers else None
    while length is None or len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def raw_http(stack, request: bytes, source_address=None, tls=True):
    """Sends bytes exactly as given (invalid URIs, oversized headers), over TLS by default."""
    if tls:
        connection = tls_connection(stack, source_address)
    else:
        connection = socket.create_connection(("127.0.0.1", stack.https_port), timeout=10)
    with connection:
        connection.sendall(request)
        return read_response(connection)


def get(path, *headers):
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def assert_json_error(status, headers, body, expected):
    assert status == expected, f"{status} {body[:200]!r}"
    assert headers["content-type"] == ["application/json"], headers
    ids = headers.get("x-request-id", [])
    assert len(ids) == 1 and REQUEST_ID.match(ids[0]), headers
    parsed = json.loads(body)
    assert parsed["status"] == expected and parsed["error"], parsed
    assert parsed["request_id"] == ids[0]
    assert headers.get("cache-control") == ["no-store"], headers
    assert headers.get("strict-transport-security"), "security headers on error pages too"


CLIENT_ERRORS = [
    # Paths nginx refuses while parsing them: these were 500s in HTML ("empty URI in redirect").
    ("traversal out of /docs/", get("/docs/..%2f..%2fstatus"), 400),
    ("traversal out of /api/", get("/api/..%2f..%2fx"), 400),
    ("traversal above the root", get("/x/../../y"), 400),
    ("encoded traversal after /healthz", get("/healthz/..%2f..%2f"), 400),
    ("NUL byte in an API path", get("/v1/%00"), 400),
    ("NUL byte in a docs path", get("/docs/%00"), 400),
    ("unknown path (the fallback)", get("/no-api-here"), 404),
    ("missing docs page", get("/docs/missing.html"), 404),
    ("URI too long", get("/api/" + "a" * 9000), 414),
    ("one header too large", get("/api/x", "X-Big: " + "b" * 9000), 431),
    ("POST to a static file", b"POST /docs/index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 405),
    ("TRACE", b"TRACE /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 405),
    ("unknown transfer encoding", b"POST /_test/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("two Authorization headers", get("/healthz", "Authorization: Bearer a", "Authorization: Bearer b"), 400),
    ("body over 1 MiB", b"POST /_test/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2000000\r\n\r\n", 413),
    ("no Host header", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
]


@pytest.mark.parametrize("request_bytes,expected", [(r, e) for _, r, e in CLIENT_ERRORS], ids=[n for n, _, _ in CLIENT_ERRORS])
def test_errors_nginx_generates_are_json_with_a_request_id(stack, request_bytes, expected):
    assert_json_error(*raw_http(stack, request_bytes), expected)


def test_plain_http_to_the_https_port_is_a_json_400(stack):
    assert_json_error(*raw_http(stack, get("/healthz"), tls=False), 400)


def test_status_from_another_address_is_a_json_403_with_a_request_id(stack):
    assert_json_error(*raw_http(stack, get("/status"), source_address=("127.0.0.2", 0)), 403)


def test_a_worker_killed_mid_request_is_still_a_json_502_with_a_request_id(stack):
    status, headers, body = raw_http(stack, get("/_test/sleep?ms=20000"))
    assert_json_error(status, headers, body, 502)


def test_a_worker_dying_part_way_through_a_response_is_a_failure_not_a_short_200(stack):
    """A worker that dies after sending the head and 300 KB of a 1.1 MB body: the client on a
    kept-alive HTTP/1.1 connection sees the connection closed short of Content-Length at once
    (it used to get a 200, part of the body, then wait for nginx's keepalive timeout), and nginx
    logs an error (it used to log a plain 200)."""
    error_log = stack.state / "logs" / "nginx-error.log"
    logged_before = error_log.stat().st_size if error_log.exists() else 0
    context = ssl.create_default_context(cafile=str(stack.cert))
    connection = http.client.HTTPSConnection("localhost", stack.https_port, context=context, timeout=8)
    started = time.monotonic()
    try:
        connection.request("GET", "/_test/dies-while-writing?bytes=1100000&die_after=300000")
        response = connection.getresponse()
        # The head was on its way before the worker died: the status cannot change any more.
        assert response.status == 200 and response.getheader("Content-Length") == "1100000"
        with pytest.raises(http.client.IncompleteRead) as failure:
            response.read()
        elapsed = time.monotonic() - started
    finally:
        connection.close()
    assert 0 < len(failure.value.partial) < 1_100_000
    assert elapsed < 3, f"the client waited {elapsed:.1f} s for the rest of the body"

    def logged_as_an_error():
        with open(error_log, "rb") as log:
            log.seek(logged_before)
            return [line for line in log.read().decode().splitlines() if "[error]" in line and "prematurely closed" in line]
    stack.wait_until(logged_as_an_error, timeout=5, what="nginx's error line for the cut response")
    assert "/_test/dies-while-writing" in logged_as_an_error()[0]
    # The pool replaced the worker.
    stack.wait_until(lambda: stack.status()["workers"]["total"] == 2, what="the replacement worker")


BIG_POST = ["-X", "POST", "-H", "Content-Length: 2000000", "--data-binary", "@/dev/null"]
# (name, scheme, curl arguments, path, status): every kind of response nginx makes itself.
NGINX_RESPONSES = [
    ("fallback 404", "https", [], "/no-api-here", 404),
    ("fallback 404 over HTTP/2", "https", ["--http2"], "/no-api-here", 404),
    ("missing docs page", "https", [], "/docs/missing.html", 404),
    ("/docs redirect", "https", [], "/docs", 301),
    ("/ redirect", "https", [], "/", 302),
    ("body too large", "https", BIG_POST, "/_test/echo", 413),
    ("URI too long", "https", ["--http1.1"], "/api/" + "a" * 9000, 414),
    ("header too large", "https", ["--http1.1", "-H", "X-Big: " + "b" * 9000], "/api/x", 431),
    ("invalid URI", "https", ["--path-as-is"], "/x/../../y", 400),
    ("POST to a static file", "https", ["-X", "POST"], "/docs/index.html", 405),
    ("TRACE", "https", ["-X", "TRACE"], "/healthz", 405),
    ("/status from another address", "https", ["--interface", "127.0.0.2"], "/status", 403),
    ("plain HTTP redirect", "http", [], "/healthz", 301),
    ("plain HTTP invalid URI", "http", ["--path-as-is"], "/x/../../y", 400),
    ("plain HTTP URI too long", "http", [], "/api/" + "a" * 9000, 414),
    ("plain HTTP header too large", "http", ["-H", "X-Big: " + "b" * 9000], "/x", 431),
    ("plain HTTP body too large", "http", BIG_POST, "/x", 413),
    ("plain HTTP TRACE", "http", ["-X", "TRACE"], "/x", 405),
]


@pytest.mark.parametrize("scheme,arguments,path,expected", [case[1:] for case in NGINX_RESPONSES],
                         ids=[case[0] for case in NGINX_RESPONSES])
def test_every_response_nginx_makes_carries_one_request_id(stack, scheme, arguments, path, expected):
    """curl against the real stack: redirects and errors nginx answers itself, on the HTTPS and the
    plain HTTP server, carry exactly one X-Request-Id; a JSON error body names the same id."""
    port = stack.https_port if scheme == "https" else stack.http_port
    result = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", str(stack.cert),
                             "--resolve", f"localhost:{port}:127.0.0.1", "-D", "-", *arguments,
                             f"{scheme}://localhost:{port}{path}"], capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.decode("latin-1").partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert int(lines[0].split()[1]) == expected, lines[0]
    headers = [line.partition(":") for line in lines[1:]]
    ids = [value.strip() for name, _, value in headers if name.lower() == "x-request-id"]
    assert len(ids) == 1 and REQUEST_ID.match(ids[0]), head
    content_type = [value.strip() for name, _, value in headers if name.lower() == "content-type"]
    if content_type == ["application/json"]:
        assert json.loads(body)["request_id"] == ids[0]
    else:
        assert expected in (301, 302), f"only redirects keep nginx's own page: {head}"


def test_api_responses_are_not_cacheable_and_docs_are(stack):
    for path in ["/healthz", "/status", "/api/v3/partnerships", "/v1/partners", "/api/directory/private/v1alpha/directories"]:
        response = stack.get(path)
        assert response.headers.get("Cache-Control") == "no-store", (path, response.status_code, response.headers)
        assert REQUEST_ID.match(response.headers["X-Request-Id"]), path
    # The worker's own X-Request-Id and nginx's are the same id, sent once.
    status, headers, _ = raw_http(stack, get("/healthz"))
    assert status == 200 and len(headers["x-request-id"]) == 1 and headers["cache-control"] == ["no-store"]
    docs = stack.get("/docs/")
    assert docs.status_code == 200
    assert "no-store" not in docs.headers["Cache-Control"] and "max-age=600" in docs.headers["Cache-Control"]
    assert REQUEST_ID.match(docs.headers["X-Request-Id"])


def test_no_free_worker_gets_a_json_503_with_retry_after_within_seconds(make_stack):
    """One worker, hung; a socket queue of 2. Requests beyond what the queue holds are refused by the
    kernel at connect() time, and nginx answers them 503 at once instead of waiting 60 s."""
    own = make_stack("--workers", "1", "--backlog", "2", "--request-timeout", "30")
    blockers, outcomes = [], []

    def hang():
        session = requests.Session()
        session.trust_env = False
        session.verify = str(own.cert)
        try:
            outcomes.append(session.get(own.url("/_test/sleep?ms=2500"), timeout=40).status_code)
        except requests.RequestException as error:
            outcomes.append(repr(error))

    # One for the worker, up to three for the queue (Linux queues backlog + 1), the rest refused.
    for _ in range(8):
        thread = threading.Thread(target=hang)
        thread.start()
        blockers.append(thread)
    # The queue is full once the first of them has been refused.
    deadline = time.monotonic() + 10
    while 503 not in outcomes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 503 in outcomes, outcomes
    started = time.monotonic()
    status, headers, body = raw_http(own, get("/v1/partners"))
    elapsed = time.monotonic() - started
    assert_json_error(status, headers, body, 503)
    assert headers["retry-after"] == ["5"]
    assert elapsed < 3, f"the 503 took {elapsed:.1f} s"
    for thread in blockers:
        thread.join(timeout=60)
    # Once the worker is free again, requests are served as usual.
    assert own.get("/healthz").status_code == 200
    # A pool that is down is the same case: nothing reached a worker, so 503 and retry.
    os.kill(own.supervisor_pid(), signal.SIGTERM)
    own.wait_until(lambda: not (own.state / "run" / "partnerships.pid").exists(), what="the supervisor to exit")
    status, headers, body = raw_http(own, get("/healthz"))
    assert_json_error(status, headers, body, 503)
    assert headers["retry-after"] == ["5"]


def test_one_address_is_limited_in_requests_in_progress_and_others_are_served(make_stack):
    own = make_stack("--workers", "4", "--conn-limit", "2", "--request-timeout", "30")
    holders = []
    for _ in range(2):
        connection = tls_connection(own)
        connection.sendall(get("/_test/sleep?ms=4000"))
        holders.append(connection)
    try:
        # Both are in progress once nginx has read their headers: the next request is refused.
        deadline = time.monotonic() + 5
        while True:
            status, headers, body = raw_http(own, get("/healthz"))
            if status == 429 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert_json_error(status, headers, body, 429)
        assert headers["retry-after"] == ["1"]
        # Another address is not affected by the first one's requests.
        status, headers, body = raw_http(own, get("/healthz"), source_address=("127.0.0.2", 0))
        assert status == 200 and json.loads(body) == {"status": "ok"}
    finally:
        for connection in holders:
            assert read_response(connection)[0] == 200
            connection.close()


def test_slow_clients_cannot_take_every_connection(make_stack):
    """Slowloris from 127.0.0.1: 4,200 connections that send a TLS record header and stop, and 50
    that finish TLS and then send part of their headers and stop (more than the old 4,096
    connections per nginx worker). A new client is served while they are open, and nginx cuts every
    one of them off after client_header_timeout (10 s; it was 60 s, so each slow connection held its
    place for a minute)."""
    own = make_stack("--workers", "2")
    slow = []
    try:
        for _ in range(4200):
            s = socket.create_connection(("127.0.0.1", own.https_port), timeout=10)
            # A TLS handshake record announcing 512 bytes, of which only the first one comes.
            s.sendall(b"\x16\x03\x01\x02\x00\x01")
            slow.append(s)
        for _ in range(50):
            t = tls_connection(own)
            t.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: a")
            slow.append(t)
        opened = time.monotonic()
        # A new client is served while every slow connection is still open.
        session = requests.Session()
        session.trust_env = False
        session.verify = str(own.cert)
        response = session.get(own.url("/healthz"), timeout=5)
        assert response.status_code == 200
        # Keep trickling for a while; nginx must still close them all within ~10 s.
        deadline = opened + 16
        poller = select.poll()
        by_fd = {s.fileno(): s for s in slow}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        while by_fd and time.monotonic() < deadline:
            for fd, _ in poller.poll(500):
                try:
                    closed = not by_fd[fd].recv(4096)
                except (ssl.SSLError, OSError):
                    closed = True
                if closed:
                    poller.unregister(fd)
                    del by_fd[fd]
        open_sockets = list(by_fd.values())
        assert not open_sockets, f"{len(open_sockets)} slow connections were still open after 16 s"
        assert session.get(own.url("/healthz"), timeout=5).status_code == 200
    finally:
        for s in slow:
            s.close()
