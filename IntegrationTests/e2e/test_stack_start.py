"""deploy/stack start when something is wrong: it exits non-zero, names the real cause (never just
"nginx did not start", never silence) and leaves nothing of the half-started stack running."""
import os
import signal
import socket
import subprocess
import time

from conftest import BINARY, Stack, json_store_only, make_state
from helpers import kill_leftovers, still_running_after


def start_failure(tmp_path_factory, docs_root, *args, env=None, stack=None):
    stack = stack or Stack(make_state(tmp_path_factory), [], env=dict({"DOCS_ROOT": str(docs_root)}, **(env or {})))
    result = stack._run("start", "--https-port", str(stack.https_port), "--http-port", str(stack.http_port),
                        "--binary", str(BINARY), "--test-routes", "--workers", "1", *args, check=False)
    return stack, result


def assert_nothing_left_running(stack):
    pid_file = stack.state / "run" / "partnerships.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.1)
        assert not os.path.exists(f"/proc/{pid}"), "the worker pool of a failed start was left running"
    nginx_pid = stack.state / "nginx" / "nginx.pid"
    pid = nginx_pid.read_text().strip() if nginx_pid.exists() else ""
    assert not pid or not os.path.exists(f"/proc/{pid}"), "nginx of a failed start was left running"


def test_a_taken_port_is_named(tmp_path_factory, docs_root):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        stack = Stack(make_state(tmp_path_factory), [], env={"DOCS_ROOT": str(docs_root)})
        stack.https_port = port
        stack, result = start_failure(tmp_path_factory, docs_root, stack=stack)
    assert result.returncode != 0
    assert f"port {port} is taken" in result.stderr, result.stderr
    assert "nginx did not start" not in result.stderr
    assert_nothing_left_running(stack)


@json_store_only  # a store folder that is a file; PARTNERSHIPS_STORE would win over it
def test_a_server_that_refuses_to_start_is_shown_with_its_own_words(tmp_path_factory, docs_root, tmp_path):
    not_a_folder = tmp_path / "data-is-a-file"
    not_a_folder.write_text("not a store\n")
    started = time.monotonic()
    stack, result = start_failure(tmp_path_factory, docs_root, "--data", str(not_a_folder))
    assert result.returncode != 0
    assert time.monotonic() - started < 20, "a server that cannot start must not be waited for in full"
    # The server's own words: the supervisor opens the store before any worker and says why it cannot.
    assert "the store" in result.stderr and "Not a directory" in result.stderr, result.stderr
    assert "workers exit as soon as they start" in result.stderr or "worker pool did not start" in result.stderr, result.stderr
    assert not_a_folder.read_text() == "not a store\n"
    assert_nothing_left_running(stack)


def test_a_rejected_nginx_configuration_is_shown(tmp_path_factory, docs_root, tmp_path):
    stack, result = start_failure(tmp_path_factory, docs_root, env={"TLS_CERT": str(tmp_path / "missing.pem"),
                                                                    "TLS_KEY": str(tmp_path / "missing.key")})
    assert result.returncode != 0
    assert "nginx rejected the configuration" in result.stderr, result.stderr
    assert "missing.pem" in result.stderr
    assert_nothing_left_running(stack)


def test_a_socket_held_by_another_process_is_named(tmp_path_factory, docs_root):
    """Workers of a supervisor killed before they could end with it, or any other program: the new
    supervisor could not bind the socket, and nginx would talk to whatever holds it."""
    stack = Stack(make_state(tmp_path_factory), [], env={"DOCS_ROOT": str(docs_root)})
    (stack.state / "run").mkdir()
    with socket.socket(socket.AF_UNIX) as squatter:
        squatter.bind(str(stack.state / "run" / "partnerships.sock"))
        squatter.listen(1)
        stack, result = start_failure(tmp_path_factory, docs_root, stack=stack)
    assert result.returncode != 0
    assert "is held by other processes" in result.stderr and str(os.getpid()) in result.stderr, result.stderr
    assert "nginx did not start" not in result.stderr
    assert_nothing_left_running(stack)


def test_workers_end_with_a_killed_supervisor_and_the_stack_starts_again(make_stack):
    """kill -9 of the supervisor: every worker exits within seconds (they used to keep serving
    unsupervised and hold the socket), and deploy/stack start on the same state works."""
    own = make_stack("--workers", "2")
    workers = own.worker_pids()
    assert len(workers) == 2
    os.kill(own.supervisor_pid(), signal.SIGKILL)
    try:
        assert not still_running_after(workers, 5), "workers outlived their supervisor by 5 s"
        own.stop()  # nginx; the supervisor is gone
        own.start()  # raises with deploy/stack's words if it fails
        assert own.get("/healthz").status_code == 200
        restarted = own.worker_pids()
        assert len(restarted) == 2 and not restarted & workers
    finally:
        kill_leftovers(workers)


def test_a_worker_whose_supervisor_died_before_it_started_exits_at_once(tmp_path):
    """The race the parent-death signal cannot cover: the supervisor died between starting the
    worker and the worker asking for the signal. The worker sees that its parent is no longer the
    supervisor recorded in its environment, and leaves before opening anything."""
    not_my_parent = os.getppid()
    result = subprocess.run([str(BINARY), "worker", "--data", str(tmp_path / "data")], stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PARTNERSHIPS_SUPERVISOR_PID=str(not_my_parent)),
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert "the supervisor that started this process is gone" in result.stderr
    assert not (tmp_path / "data").exists()
