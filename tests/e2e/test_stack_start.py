"""deploy/stack start when something is wrong: it exits non-zero, names the real cause (never just
"nginx did not start", never silence) and leaves nothing of the half-started stack running."""
import os
import signal
import socket
import time

from conftest import BINARY, Stack, make_state


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


def test_workers_orphaned_by_a_dead_supervisor_are_named(make_stack, tmp_path_factory, docs_root):
    own = make_stack("--workers", "2")
    orphans = own.worker_pids()
    os.kill(own.supervisor_pid(), signal.SIGKILL)
    try:
        time.sleep(0.5)
        survivors = {pid for pid in orphans if os.path.exists(f"/proc/{pid}")}
        own.stop()  # stops nginx; the supervisor is gone
        _, result = start_failure(tmp_path_factory, docs_root, stack=own)
        assert result.returncode != 0
        if survivors:
            assert "is held by other processes" in result.stderr, result.stderr
            assert all(str(pid) in result.stderr for pid in survivors), result.stderr
        assert "nginx did not start" not in result.stderr
    finally:
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
