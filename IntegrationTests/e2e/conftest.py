"""End-to-end fixtures: a real stack (nginx + the worker pool) per test module, on loopback,
with random free ports and a temporary state folder, started and stopped by deploy/stack."""
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("PARTNERSHIPS_BINARY", REPO / ".build" / "debug" / "partnerships"))

# PARTNERSHIPS_TEST_STORE=postgres: every stack's store is a fresh schema of the PostgreSQL server
# at PARTNERSHIPS_TEST_POSTGRES_URL (deploy/test starts one) instead of a folder.
ON_POSTGRES = os.environ.get("PARTNERSHIPS_TEST_STORE", "json") == "postgres"
POSTGRES_URL = os.environ.get("PARTNERSHIPS_TEST_POSTGRES_URL", "")
_schemas = itertools.count(1)

# For tests about the JSON store's own files (data, journal, compaction, the compactor): they have
# nothing to test on PostgreSQL.
json_store_only = pytest.mark.skipif(ON_POSTGRES, reason="about the JSON store's files; the stack runs on PostgreSQL")


def fresh_postgres_store() -> str:
    """The URL of a schema no stack used yet (the engine creates it on first open)."""
    return f"{POSTGRES_URL}?schema=e2e_{os.getpid()}_{next(_schemas)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """One running stack. `url(path)` is its HTTPS address; `session` trusts its self-signed cert."""

    def __init__(self, state: Path, extra_args=(), env=None):
        self.state = state
        self.https_port = free_port()
        self.http_port = free_port()
        self.extra_args = list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        # On PostgreSQL, `serve` (through PARTNERSHIPS_STORE, which wins over --data) and every
        # admin command (`store_args`) use this stack's own schema.
        self.store_url = fresh_postgres_store() if ON_POSTGRES else None
        if self.store_url:
            self.env["PARTNERSHIPS_STORE"] = self.store_url
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE and proxy variables from the environment must not apply to loopback tests.
        self.session.trust_env = False

    def start(self):
        self._run("start", "--https-port", str(self.https_port), "--http-port", str(self.http_port),
                  "--binary", str(BINARY), "--test-routes", *self.extra_args)
        # Real verification against the stack's own self-signed certificate (SAN: localhost).
        self.session.verify = str(self.cert)
        return self

    @property
    def store_args(self) -> list:
        """What points an admin command at this stack's store."""
        return ["--store", self.store_url] if self.store_url else ["--data", str(self.state / "data")]

    @property
    def cert(self) -> Path:
        return self.state / "tls" / "cert.pem"

    def stop(self):
        self._run("stop", check=False)

    def _run(self, command, *args, check=True):
        result = subprocess.run([str(REPO / "deploy" / "stack"), command, "--state", str(self.state), *args],
                                env=self.env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"deploy/stack {command} failed:\n{result.stdout}\n{result.stderr}\n{self.logs()}")
        return result

    def url(self, path: str) -> str:
        return f"https://localhost:{self.https_port}{path}"

    def get(self, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.get(self.url(path), **kwargs)

    def post(self, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.post(self.url(path), **kwargs)

    def status(self) -> dict:
        response = self.get("/status")
        assert response.status_code == 200, response.text
        return response.json()

    def supervisor_pid(self) -> int:
        return int((self.state / "run" / "partnerships.pid").read_text())

    def worker_pids(self) -> set:
        return {slot["pid"] for slot in self.status()["slots"]}

    def wait_until(self, predicate, timeout=20.0, interval=0.1, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def log_lines(self):
        path = self.state / "logs" / "partnerships.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    def logs(self) -> str:
        out = []
        for name in ("partnerships.log", "supervisor.out", "nginx-error.log"):
            path = self.state / "logs" / name
            if path.exists():
                out.append(f"--- {name} (tail)\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(out)


@pytest.fixture(scope="session", autouse=True)
def built_binary():
    if not BINARY.exists():
        pytest.exit(f"no server binary at {BINARY}: run `swift build` first (deploy/test does)", returncode=2)
    if ON_POSTGRES and not POSTGRES_URL:
        pytest.exit("PARTNERSHIPS_TEST_STORE=postgres needs PARTNERSHIPS_TEST_POSTGRES_URL "
                    "(deploy/postgres-test-cluster start prints one)", returncode=2)


@pytest.fixture(scope="module")
def docs_root(tmp_path_factory):
    """A small docs site, with a secret file beside it that must never be served."""
    base = tmp_path_factory.mktemp("docs")
    site = base / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>Partnerships docs</title><h1>Partnerships API</h1>\n")
    (site / "guide").mkdir()
    (site / "guide" / "index.html").write_text("<!doctype html><title>Guide</title>\n")
    (site / "app.css").write_text("body { color: #222; }\n" * 200)
    (base / "secret.txt").write_text("must not be served\n")
    os.chmod(base, 0o755)
    return site


@pytest.fixture(scope="module")
def stack(tmp_path_factory, docs_root):
    state = make_state(tmp_path_factory)
    s = Stack(state, ["--workers", "2", "--request-timeout", "2"], env={"DOCS_ROOT": str(docs_root)}).start()
    yield s
    s.stop()


def make_state(tmp_path_factory) -> Path:
    state = tmp_path_factory.mktemp("state")
    # nginx's workers run as www-data when the tests run as root: they must reach the socket.
    for parent in [state, *state.parents]:
        if parent == Path("/"):
            break
        try:
            os.chmod(parent, os.stat(parent).st_mode | 0o005)
        except PermissionError:
            break
    return state


@pytest.fixture
def make_stack(tmp_path_factory, docs_root):
    """For tests that need their own stack (stop, recycling): started with the given args."""
    started = []

    def factory(*args):
        s = Stack(make_state(tmp_path_factory), args, env={"DOCS_ROOT": str(docs_root)}).start()
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def own_tmp():
    """A folder outside pytest's basetemp, for a long run's stack: a concurrent pytest session
    resets /tmp/pytest-of-<user> to mode 0700, which would cut nginx's workers (www-data) off the
    socket in the middle of the run."""
    folder = Path(tempfile.mkdtemp(prefix="partnerships-contract-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def api_stack(tmp_path_factory, docs_root):
    """A stack for an API family's suite: two workers, and a request timeout that leaves room for
    large pages on a debug build."""
    s = Stack(make_state(tmp_path_factory), ["--workers", "2", "--request-timeout", "30"], env={"DOCS_ROOT": str(docs_root)}).start()
    yield s
    s.stop()
