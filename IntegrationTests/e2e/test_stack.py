"""The stack itself: TLS, nginx limits and error bodies, header pass-through, the worker pool's
failure handling (crash, hang, reload, stop, recycling), static docs."""
import http.client
import os
import re
import signal
import socket
import ssl
import threading
import time

import pytest
import requests


def raw_request(stack, method, path, headers, body=b"", source_address=None):
    """http.client lets us send what requests would merge or refuse (repeated headers)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=context, timeout=10,
                                             source_address=source_address)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data


def test_https_healthz_with_request_id_and_security_headers(stack):
    response = stack.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["Content-Type"].startswith("application/json")
    assert len(response.headers["X-Request-Id"]) == 32
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_tls_1_2_and_1_3_with_forward_secret_ciphers(stack):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl.create_default_context(cafile=str(stack.cert))
        context.minimum_version = context.maximum_version = version
        with socket.create_connection(("127.0.0.1", stack.https_port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
                cipher = tls.cipher()[0]
        if version == ssl.TLSVersion.TLSv1_2:
            assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    # A TLS 1.2 client offering only a CBC suite that the intermediate profile leaves out is refused.
    context = ssl.create_default_context(cafile=str(stack.cert))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256")
    with pytest.raises(ssl.SSLError):
        with socket.create_connection(("127.0.0.1", stack.https_port), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname="localhost")


def test_http_redirects_to_https(stack):
    response = stack.session.get(f"http://localhost:{stack.http_port}/healthz?x=1", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://localhost:{stack.https_port}/healthz?x=1"


def test_authorization_header_reaches_the_handler_and_request_id_is_shared(stack):
    response = stack.post("/_test/echo?filter[cohort]=2025", headers={"Authorization": "Bearer secret-token"}, json={"a": 1})
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["authorization"] == "Bearer secret-token"
    assert echoed["query"] == {"filter[cohort]": "2025"}
    assert echoed["body_bytes"] == len(b'{"a": 1}')
    assert echoed["request_id"] == response.headers["X-Request-Id"]


def test_proxy_header_does_not_become_http_proxy(stack):
    response = stack.post("/_test/echo", headers={"Proxy": "http://evil.example"}, data=b"")
    assert response.status_code == 200


def test_two_authorization_headers_are_refused_with_json(stack):
    status, headers, body = raw_request(stack, "POST", "/_test/echo",
                                        [("Host", "localhost"), ("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert b"repeats a header" in body


def test_two_megabyte_body_gets_413_json_from_nginx(stack):
    response = stack.post("/_test/echo", data=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["status"] == 413


def test_body_under_the_limit_is_read_whole(stack):
    body = b"y" * (900 * 1024)
    response = stack.post("/_test/echo", data=body)
    assert response.status_code == 200
    assert response.json()["body_bytes"] == len(body)


def test_unknown_path_and_wrong_method_are_json(stack):
    response = stack.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    response = stack.session.delete(stack.url("/healthz"))
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json()["error"] == "Method not allowed"


def test_status_is_for_loopback_only(stack):
    status = stack.status()
    assert status["workers"]["total"] == 2
    assert {"crashes", "timeout_kills", "recycles", "reloads"} <= set(status["restarts"])
    assert status["requests_served"] > 0
    # 127.0.0.2 is another local address, but not one the status location allows.
    code, headers, body = raw_request(stack, "GET", "/status", [("Host", "localhost")], source_address=("127.0.0.2", 0))
    assert code == 403
    assert headers["Content-Type"] == "application/json"


def test_status_has_php_fpms_fields(stack):
    """Pool figures as PHP-FPM's status page names them, beside the fields the page had before."""
    stack.get("/healthz")
    status = stack.status()
    assert status["pool"] == "partnerships" and status["process_manager"] == "static"
    assert abs(status["start_time"] + status["start_since"] - time.time()) < 5
    assert status["start_since"] == status["uptime_seconds"]
    assert status["accepted_conn"] == status["requests_served"] > 0
    # The kernel's own figures for the unix socket nginx connects to: deploy/stack's --backlog 64.
    assert status["listen_queue_len"] == 64
    assert status["listen_queue"] == 0, "the request for /status itself was accepted already"
    assert status["max_listen_queue"] >= 0
    assert status["total_processes"] == 2 == status["workers"]["total"]
    assert status["active_processes"] >= 1, "the worker serving /status is busy"
    assert status["active_processes"] + status["idle_processes"] == 2
    assert status["max_active_processes"] >= status["active_processes"]
    assert status["max_children_reached"] >= 0 and status["slow_requests"] >= 0
    assert status["slow_request_ms"] == 1000
    for slot in status["slots"]:
        assert {"pid", "state", "start_time", "start_since", "requests", "last_request", "last_request_duration_ms",
                "current_request", "busy_ms"} <= set(slot)
        assert abs(slot["start_time"] + slot["start_since"] - time.time()) < 5
    serving = [slot for slot in status["slots"] if slot["state"] == "busy"]
    assert any(slot["current_request"] == "GET /status" for slot in serving), status["slots"]


OPENMETRICS_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                              r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (\S+)$')


def parse_openmetrics(text):
    """{family: (type, [(sample name, labels text, value)])}; fails on anything OpenMetrics 1.0 forbids
    that this page could get wrong: a missing # EOF, a sample outside its family or without the
    suffix its type requires, a family declared twice, a malformed label set or value."""
    assert text.endswith("\n# EOF\n"), text[-200:]
    families, current = {}, None
    suffixes = {"counter": ["_total", "_created"], "gauge": [""], "info": ["_info"], "stateset": [""]}
    for line in text.splitlines()[:-1]:
        if line.startswith("# "):
            keyword, name, rest = (line[2:].split(" ", 2) + [""])[:3]
            assert keyword in ("TYPE", "HELP", "UNIT"), line
            if keyword == "TYPE":
                assert name not in families, f"{name} declared twice"
                families[name] = (rest, [])
                current = name
            else:
                assert name == current, f"{line} is not about the family declared last ({current})"
                if keyword == "UNIT":
                    assert name.endswith("_" + rest), line
            continue
        match = OPENMETRICS_LINE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        kind = families[current][0]
        assert name in [current + suffix for suffix in suffixes[kind]], f"{name} in family {current} ({kind})"
        float(value)
        families[current][1].append((name, labels or "", float(value)))
    return families


@pytest.mark.parametrize("query", ["openmetrics", "format=openmetrics"])
def test_status_in_the_openmetrics_format(stack, query):
    response = stack.get(f"/status?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    families = parse_openmetrics(response.text)
    assert families["partnerships_accepted_connections"][0] == "counter"
    (name, labels, value), = families["partnerships_accepted_connections"][1]
    assert name == "partnerships_accepted_connections_total" and labels == '{pool="partnerships"}' and value > 0
    assert families["partnerships_listen_queue_length"][1][0][2] == 64
    for family in ("partnerships_listen_queue", "partnerships_max_listen_queue", "partnerships_idle_processes",
                   "partnerships_active_processes", "partnerships_total_processes", "partnerships_max_active_processes",
                   "partnerships_max_children_reached", "partnerships_slow_requests", "partnerships_start_time_seconds",
                   "partnerships_worker_requests", "partnerships_worker_state"):
        assert families[family][1], family
    assert families["partnerships_total_processes"][1][0][2] == 2
    busy = [labels for _, labels, value in families["partnerships_worker_state"][1]
            if value == 1 and 'partnerships_worker_state="busy"' in labels]
    assert busy, "the worker answering is busy"
    # Loopback only, like the JSON page; an unknown format is refused.
    code, _, _ = raw_request(stack, "GET", f"/status?{query}", [("Host", "localhost")], source_address=("127.0.0.2", 0))
    assert code == 403
    assert stack.get("/status?format=xml").status_code == 400
    assert stack.get("/status?format=json").json()["pool"] == "partnerships"


def test_rate_limit_answers_429_json(stack):
    codes = [stack.get("/_test/limited").status_code for _ in range(6)]
    assert 429 in codes
    response = stack.get("/_test/limited")
    assert response.status_code == 429
    assert response.json()["status"] == 429


def test_killed_worker_is_replaced_and_requests_keep_succeeding(stack):
    before = stack.status()
    victim = before["slots"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    stack.wait_until(lambda: stack.status()["restarts"]["crashes"] == before["restarts"]["crashes"] + 1
                     and len(stack.worker_pids()) == 2 and victim not in stack.worker_pids(), what="a replacement worker")
    assert all(stack.get("/healthz").status_code == 200 for _ in range(30))
    assert any(line["message"] == "worker died; restarting" and line.get("worker_pid") == str(victim) for line in stack.log_lines())


def test_hung_worker_is_killed_after_the_timeout_and_replaced(stack):
    before = stack.status()["restarts"]["timeout_kills"]
    started = time.monotonic()
    response = stack.get("/_test/sleep?ms=20000")
    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert response.json()["error"] == "Bad Gateway"
    assert elapsed < 10, f"the 2 s request timeout took {elapsed:.1f} s"
    stack.wait_until(lambda: stack.status()["restarts"]["timeout_kills"] == before + 1 and stack.status()["workers"]["total"] == 2,
                     what="the stuck worker's replacement")
    assert all(stack.get("/healthz").status_code == 200 for _ in range(20))
    slow = [line for line in stack.log_lines() if line["message"].startswith("slow request")]
    assert slow and slow[-1]["request"] == "GET /_test/sleep?ms=20000"


def test_graceful_reload_under_a_stream_of_requests_loses_none(stack):
    results = []
    stop = threading.Event()

    def client(path):
        session = requests.Session()
        session.trust_env = False
        session.verify = str(stack.cert)
        while not stop.is_set():
            try:
                results.append(session.get(stack.url(path), timeout=30).status_code)
            except requests.RequestException as error:
                results.append(repr(error))

    threads = [threading.Thread(target=client, args=(path,)) for path in ["/healthz"] * 3 + ["/_test/sleep?ms=300"] * 2]
    for thread in threads:
        thread.start()
    old = stack.worker_pids()
    generation = stack.status()["generation"]
    for _ in range(2):
        time.sleep(0.7)
        os.kill(stack.supervisor_pid(), signal.SIGHUP)
        stack.wait_until(lambda: stack.status()["generation"] > generation, what="a new generation")
        generation = stack.status()["generation"]
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    failures = [r for r in results if r != 200]
    assert len(results) > 100
    assert failures == [], f"{len(failures)} of {len(results)} requests failed: {failures[:5]}"
    stack.wait_until(lambda: stack.worker_pids().isdisjoint(old) and len(stack.worker_pids()) == 2, what="old workers gone")


def test_a_reload_starts_its_workers_one_at_a_time(stack):
    """While the old workers serve, each new worker starts only once the one before it is ready, so
    their store attaches never take every core from the workers serving meanwhile."""
    old = stack.worker_pids()
    os.kill(stack.supervisor_pid(), signal.SIGHUP)
    stack.wait_until(lambda: stack.worker_pids().isdisjoint(old) and len(stack.worker_pids()) == 2,
                     what="the new generation serving alone")
    lines = stack.log_lines()
    begun = max(i for i, line in enumerate(lines) if line["message"] == "graceful reload: starting a new generation")
    events = [(line["message"], int(line.get("worker_pid") or line["pid"])) for line in lines[begun:]
              if line["message"] in ("worker started", "worker ready")]
    started = [pid for message, pid in events if message == "worker started"]
    assert len(started) == 2, events
    first_ready = events.index(("worker ready", started[0]))
    second_started = events.index(("worker started", started[1]))
    assert first_ready < second_started, events


def test_sigusr1_reopens_the_log(stack):
    log = stack.state / "logs" / "partnerships.log"
    rotated = log.with_suffix(".log.1")
    log.rename(rotated)
    os.kill(stack.supervisor_pid(), signal.SIGUSR1)
    stack.wait_until(lambda: log.exists() and "log reopened" in log.read_text(), what="a reopened log")

    # The workers reopen it too: a handler's line (through the request's logger) lands in the new file.
    def a_worker_line_in_the_new_log():
        response = stack.post("/_test/log?note=after-rotation")
        assert response.status_code == 200
        request_id = response.headers["X-Request-Id"]
        return any(line.get("request_id") == request_id and line["message"] == "test route: a line from the handler"
                   and line["component"] == "worker" and line["method"] == "POST" and line["path"] == "/_test/log"
                   and line["note"] == "after-rotation" for line in stack.log_lines())
    stack.wait_until(a_worker_line_in_the_new_log, what="a worker's line in the reopened log")


def test_static_docs_are_served_with_caching_and_gzip(stack):
    response = stack.get("/docs/")
    assert response.status_code == 200
    assert "Partnerships API" in response.text
    assert "max-age=600" in response.headers["Cache-Control"]
    assert response.headers["Strict-Transport-Security"]
    css = stack.get("/docs/app.css", headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers.get("Content-Encoding") == "gzip"
    assert stack.get("/docs/guide/").status_code == 200
    assert stack.get("/docs/missing.html").status_code == 404
    redirect = stack.session.get(stack.url("/docs"), allow_redirects=False)
    assert redirect.status_code == 301


@pytest.mark.parametrize("path", ["/docs../secret.txt", "/docs/../secret.txt", "/docs/..%2fsecret.txt", "/docs%2f..%2fsecret.txt"])
def test_docs_alias_does_not_escape(stack, path):
    status, _, body = raw_request(stack, "GET", path, [("Host", "localhost")])
    assert b"must not be served" not in body
    assert status == 404


def test_graceful_stop_lets_in_flight_requests_finish(make_stack):
    own = make_stack("--workers", "2", "--request-timeout", "10")
    outcome = {}

    def slow_request():
        outcome["response"] = own.get("/_test/sleep?ms=1500")

    thread = threading.Thread(target=slow_request)
    thread.start()
    own.wait_until(lambda: own.status()["workers"]["busy"] >= 2, what="the slow request in flight")
    supervisor = own.supervisor_pid()
    os.kill(supervisor, signal.SIGTERM)
    thread.join(timeout=20)
    assert outcome["response"].status_code == 200
    assert outcome["response"].json()["slept_ms"] == 1500
    own.wait_until(lambda: not (own.state / "run" / "partnerships.pid").exists(), what="the supervisor to exit")
    assert not (own.state / "run" / "partnerships.sock").exists()


def test_workers_are_recycled_after_max_requests(make_stack):
    own = make_stack("--workers", "2", "--max-requests", "5")
    codes = [own.get("/healthz").status_code for _ in range(40)]
    assert codes == [200] * 40
    own.wait_until(lambda: own.status()["restarts"]["recycles"] >= 4, what="recycled workers")
    assert own.status()["restarts"]["crashes"] == 0


def test_head_answers_the_get_length_without_a_body(stack):
    """RFC 9110: a HEAD carries the Content-Length a GET would (it said 0 before)."""
    get = stack.get("/healthz")
    head = stack.session.head(stack.url("/healthz"), timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(get.content) > 0
    assert head.headers["ETag"] == get.headers["ETag"]


def test_a_saturated_pool_shows_in_status(make_stack):
    """Two workers and four 1.2 s requests at once: two wait in the socket's queue. /status then shows
    the queue the supervisor saw, the pool at its limit, every request counted as slow (logged too),
    and each worker's last request with its duration."""
    own = make_stack("--workers", "2", "--request-timeout", "10", "--slow-request-ms", "500", "--pool-name", "e2e-pool")
    before = own.status()
    assert before["pool"] == "e2e-pool" and before["slow_request_ms"] == 500
    results = []

    def slow():
        session = requests.Session()
        session.trust_env = False
        session.verify = str(own.cert)
        results.append(session.get(own.url("/_test/sleep?ms=1200"), timeout=30).status_code)

    threads = [threading.Thread(target=slow) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 4
    status = own.status()
    assert status["max_listen_queue"] >= 1, status
    assert status["max_active_processes"] == 2
    assert status["max_children_reached"] >= 2, "the two queued requests each found the other worker busy"
    assert status["slow_requests"] - before["slow_requests"] == 4
    assert status["accepted_conn"] - before["accepted_conn"] == 5  # four sleeps and the first /status
    finished = [slot for slot in status["slots"] if slot["last_request"] == "GET /_test/sleep?ms=1200"]
    assert finished and all(slot["last_request_duration_ms"] >= 1200 for slot in finished), status["slots"]
    own.wait_until(lambda: len([line for line in own.log_lines() if line["message"] == "slow request"]) == 4,
                   what="four slow-request lines")
    line = [line for line in own.log_lines() if line["message"] == "slow request"][0]
    assert line["request"] == "GET /_test/sleep?ms=1200" and int(line["elapsed_ms"]) >= 1200 and line["request_id"]
