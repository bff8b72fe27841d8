"""What the API-family e2e suites share: admin commands against a stack's data folder, tokens,
authenticated JSON calls, raw requests (repeated headers) and starting requests together."""
import http.client
import json
import os
import signal
import ssl
import subprocess
import threading
import time
import uuid

from conftest import BINARY


def run_cli(stack, *args) -> subprocess.CompletedProcess:
    """Runs `partnerships ARGS --data <the stack's store>` (safe while the stack serves)."""
    return subprocess.run([str(BINARY), *args, *stack.store_args], capture_output=True, text=True, timeout=60)


def cli(stack, *args) -> str:
    """`run_cli` that must succeed; its stdout."""
    result = run_cli(stack, *args)
    assert result.returncode == 0, f"partnerships {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def lead_provider_demo(stack) -> dict:
    """Loads the demo data sets (`partnerships lead-provider demo`) into the stack's store; the
    values it prints (LEAD_PROVIDER_TOKEN, STAFF_TOKEN, ...)."""
    printed = subprocess.run([str(BINARY), "lead-provider", "demo", *stack.store_args],
                             capture_output=True, text=True, check=True, timeout=120).stdout
    return dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)


NGINX_MALFORMED = "The request is malformed"


def refused_by_nginx(response) -> bool:
    """nginx's own 400 for a malformed request (nginx/snippets/json-errors.conf; under /api/v3 in the
    Lead Provider API's format, snippets/json-errors-lead-provider.conf), not the API's: a generated
    header value HTTP does not allow never reaches the API."""
    return response.status_code == 400 and NGINX_MALFORMED in response.text


def create_token(stack, label=None, **principal) -> str:
    """A token from `partnerships token create` (lead_provider=ID, staff=NAME or partners_user=ID);
    the command prints it once, on the first line."""
    (option, value), = principal.items()
    label_args = ["--name", label] if label else []
    return cli(stack, "token", "create", f"--{option.replace('_', '-')}", str(value), *label_args).splitlines()[0]


def token_id(stack, token_name_fragment: str) -> str:
    """The id of the first listed token whose line contains the fragment (`token list`)."""
    for line in cli(stack, "token", "list").splitlines():
        if token_name_fragment in line:
            return line.split()[0]
    raise AssertionError(f"no token matching {token_name_fragment!r}")


def unknown_id() -> str:
    return str(uuid.uuid4())


class Client:
    """Calls one stack as one caller: `Authorization: <word> <token>`, or none when token is None."""

    def __init__(self, stack, token=None, word="Bearer"):
        self.stack, self.token, self.word = stack, token, word

    def headers(self, extra=None):
        headers = {} if self.token is None else {"Authorization": f"{self.word} {self.token}"}
        headers.update(extra or {})
        return headers

    def call(self, method, path, body=None, raw=None, headers=None):
        """`body` is sent as JSON; `raw` (bytes/str) as is, for malformed payloads."""
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        extra = {"Content-Type": "application/json"} if data is not None else {}
        extra.update(headers or {})
        return self.stack.session.request(method, self.stack.url(path), data=data, headers=self.headers(extra), timeout=30)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def expect(response, status, body=None):
    """Asserts the status (and the whole JSON body when given); returns the parsed body."""
    assert response.status_code == status, f"{response.request.method} {response.url}: {response.status_code} {response.text}"
    if response.status_code == 204:
        assert response.content == b""
        return None
    parsed = response.json()
    if body is not None:
        assert parsed == body, f"{response.request.method} {response.url}"
    return parsed


def raw_request(stack, method, path, headers, body=b""):
    """http.client sends what requests would merge (two headers of one name)."""
    context = ssl.create_default_context(cafile=str(stack.cert))
    connection = http.client.HTTPSConnection("localhost", stack.https_port, context=context, timeout=10)
    connection.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    status, data = response.status, response.read()
    connection.close()
    return status, json.loads(data)


def together(calls):
    """Runs the callables on their own threads, released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as error:  # surfaced below: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def running(pid) -> bool:
    """Alive and not a zombie (an orphan's new parent may be slow to reap it)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


def still_running_after(pids, seconds):
    """The pids still running once they all ended or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(running(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if running(pid)]


def kill_leftovers(pids):
    """A test's cleanup: SIGKILL whatever of `pids` is still there."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
