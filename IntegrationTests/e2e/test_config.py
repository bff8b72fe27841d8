"""Settings from a config file and PARTNERSHIPS_* variables (docs/operations.md, "Configuration"), and
the store that only `serve` and `store init` create: every other command refuses a folder without one."""
import json
import os
import signal
import subprocess
import time

from conftest import BINARY, Stack, free_port, make_state


def clean_environment(**extra):
    """This process's environment without any PARTNERSHIPS_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERSHIPS_")}
    env.update(extra)
    return env


def run(*args, cwd=None, **env):
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env=clean_environment(**env))


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_token_create_in_a_folder_without_a_store_fails_and_creates_nothing(tmp_path):
    wrong = tmp_path / "wrong-folder"
    wrong.mkdir()
    result = run("token", "create", "--staff", "ops", cwd=wrong)
    assert result.returncode != 0
    assert result.stdout == "", "no token may be printed"
    assert f"there is no store in state/data ({wrong}/state/data)" in result.stderr, result.stderr
    assert "partnerships store init --data state/data" in result.stderr, result.stderr
    assert files_under(wrong) == [], "nothing may be created"


def test_every_command_but_serve_and_store_init_refuses_a_folder_without_a_store(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    backup = tmp_path / "backup.jsonl"
    commands = [
        ["token", "create", "--staff", "ops"], ["token", "list"], ["token", "revoke", "x"],
        ["store", "verify"], ["store", "compact"], ["store", "stats"], ["store", "backup", str(backup)],
        ["lead-provider", "demo"], ["directory", "demo"], ["directory", "organization", "--name", "Acme"],
    ]
    for args in commands:
        result = run(*args, "--data", str(empty))
        assert result.returncode != 0, args
        assert f"there is no store in {empty}: nothing was done" in result.stderr, (args, result.stderr)
    # The folder may also come from the environment or a config file: the same refusal.
    result = run("store", "stats", PARTNERSHIPS_DATA=str(empty))
    assert result.returncode != 0 and f"there is no store in {empty}" in result.stderr, result.stderr
    assert files_under(empty) == [] and not backup.exists()

    created = run("store", "init", "--data", str(empty / "store"))
    assert created.returncode == 0, created.stderr
    assert "created an empty store" in created.stdout
    again = run("store", "init", "--data", str(empty / "store"))
    assert again.returncode == 0 and "already" in again.stdout
    token = run("token", "create", "--staff", "ops", "--data", str(empty / "store"))
    assert token.returncode == 0, token.stderr
    assert token.stdout.startswith("ptk_")


def test_a_config_file_with_a_mistake_is_refused_with_its_file_and_line(tmp_path):
    conf = tmp_path / "pool.conf"
    conf.write_text("# pool\ndata = data\nmax-workers = 4\n")
    result = run("store", "init", "--config", str(conf))
    assert result.returncode != 0
    assert f"{conf}:3: unknown key \"max-workers\"" in result.stderr, result.stderr
    conf.write_text("data = data\nworkers = lots\n")
    result = run("serve", PARTNERSHIPS_CONFIG=str(conf))
    assert result.returncode != 0
    assert f"{conf}:2: workers = lots: not a whole number" in result.stderr, result.stderr
    result = run("serve", "--config", str(conf), PARTNERSHIPS_BACKLOG="0")
    assert result.returncode != 0
    assert files_under(tmp_path) == ["pool.conf"]


def fastcgi_get(port, path):
    """GET `path` from the pool straight over FastCGI (cgi-fcgi), as nginx would ask it."""
    result = subprocess.run(["cgi-fcgi", "-bind", "-connect", f"127.0.0.1:{port}"], capture_output=True, timeout=30,
                            env=dict(os.environ, REQUEST_METHOD="GET", REQUEST_URI=path, DOCUMENT_URI=path,
                                     REMOTE_ADDR="127.0.0.1", SERVER_PROTOCOL="HTTP/1.1"))
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    return head.decode(), body


def test_serve_takes_its_settings_from_a_config_file_variables_and_flags(tmp_path):
    pool = tmp_path / "pool"
    (pool / "logs").mkdir(parents=True)
    port = free_port()
    conf = pool / "partnerships.conf"
    # Relative paths in the file are next to it, wherever serve is started.
    conf.write_text(f"""# a pool of the e2e tests
data = data                  # the store: created by serve
listen = 127.0.0.1:{port}
run_dir = run
log_file = logs/partnerships.log
workers = 3
pool_name = "from-config"
slow_request_ms = 250
log_level = info
""")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    supervisor = subprocess.Popen(
        [str(BINARY), "serve", "--slow-request-ms", "40"], cwd=elsewhere, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_environment(PARTNERSHIPS_CONFIG=str(conf), PARTNERSHIPS_WORKERS="2"))
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and supervisor.poll() is None:
            head, body = fastcgi_get(port, "/status")
            if "200" in head.splitlines()[0] if head else False:
                status = json.loads(body)
                if status["workers"]["total"] == 2:
                    break
            time.sleep(0.2)
        assert status is not None, f"serve did not answer:\n{supervisor.stderr.read() if supervisor.poll() is not None else ''}"
        assert status["pool"] == "from-config"                # the file
        assert status["workers"]["total"] == 2                 # $PARTNERSHIPS_WORKERS beats the file's 3
        assert status["slow_request_ms"] == 40                 # the flag beats the file's 250
        assert status["supervisor_pid"] == supervisor.pid
        assert (pool / "data" / "store.head").exists(), "serve creates the store in the file's folder"
        assert int((pool / "run" / "partnerships.pid").read_text()) == supervisor.pid
        assert files_under(elsewhere) == [], "nothing relative to the current folder"
        lines = [json.loads(line) for line in (pool / "logs" / "partnerships.log").read_text().splitlines()]
        read = [line for line in lines if line.get("message") == "settings read"]
        assert read and read[0]["config"] == str(conf), lines[:5]
        # An admin command finds the same store through the same file.
        token = run("token", "create", "--staff", "ops", "--config", str(conf), cwd=elsewhere)
        assert token.returncode == 0, token.stderr
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=40)


def test_deploy_stack_passes_a_config_file_on_and_its_own_flags_win(tmp_path_factory, docs_root, tmp_path):
    conf = tmp_path / "pool.conf"
    conf.write_text("pool_name = stack-from-config\nworkers = 5\n")
    stack = Stack(make_state(tmp_path_factory), ["--workers", "1"],
                  env={"DOCS_ROOT": str(docs_root), "PARTNERSHIPS_CONFIG": str(conf)}).start()
    try:
        status = stack.status()
        assert status["pool"] == "stack-from-config"   # deploy/stack does not pass --pool-name: the file's
        assert status["workers"]["total"] == 1         # deploy/stack's --workers beats the file's 5
    finally:
        stack.stop()
