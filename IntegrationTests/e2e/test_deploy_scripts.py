"""The deploy scripts themselves: a failed build stops deploy/up, deploy/test and deploy/loadtest
(either of its two products) with the compiler's errors and build progress, messages are plain
text off a terminal or with NO_COLOR, and deploy/loadtest's cleanup stops every process spawn-fcgi
and php-fpm started.

The build tests run copies of the scripts in a scratch repository with a stand-in `swift` that
fails like a real compile error (and a stand-in dpkg-query, so nothing is installed): fast, and
nothing of this repository's .build is touched."""
import os
import pty
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import kill_leftovers, still_running_after

REPO = Path(__file__).resolve().parents[2]
ESC = "\x1b["

FAKE_SWIFT = """#!/bin/sh
case "$1" in
    build)
        # FAKE_SWIFT_BUILDS=PRODUCT: that product builds, every other build fails.
        case "$*" in *"--product ${FAKE_SWIFT_BUILDS:-none}") exit 0 ;; esac
        echo "[1/3] Compiling JSON JSON.swift"
        echo "[2/3] Compiling Server Broken.swift"
        echo "/repo/Sources/Server/Broken.swift:3:5: error: cannot find 'frobnicate' in scope" >&2
        exit 1 ;;
    test) echo "SWIFT TEST RAN"; exit 0 ;;
esac
exit 0
"""


@pytest.fixture
def scratch_repo(tmp_path):
    """deploy/ and the requirement files copied into an empty repository; the real .venv linked in
    (its stamps match, so nothing is installed); stale binaries from an earlier build in .build."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "deploy", repo / "deploy")
    for name in ("IntegrationTests/requirements.txt", "docs/requirements.txt"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, repo / name)
    if (REPO / ".venv").exists():
        (repo / ".venv").symlink_to(REPO / ".venv")
    for config, product in [(c, p) for c in ("debug", "release") for p in ("partnerships", "partnerships-bench")]:
        stale = repo / ".build" / config / product
        stale.parent.mkdir(parents=True, exist_ok=True)
        stale.write_text("#!/bin/sh\necho 'stale binary ran' >&2\nexit 1\n")
        stale.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "swift").write_text(FAKE_SWIFT)
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\necho 'install ok installed'\n")
    for tool in ("swift", "dpkg-query"):
        (bin_dir / tool).chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return repo, env


@pytest.mark.parametrize("script, builds", [("up", None), ("test", None), ("loadtest", None),
                                             ("loadtest", "partnerships")])
def test_a_failed_build_stops_the_script_with_the_compilers_errors_and_progress(scratch_repo, script, builds):
    """("loadtest", "partnerships"): the server builds, the benchmarks' product (partnerships-bench) fails."""
    repo, env = scratch_repo
    if builds:
        env["FAKE_SWIFT_BUILDS"] = builds
    result = subprocess.run([str(repo / "deploy" / script)], cwd=repo, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "error: cannot find 'frobnicate' in scope" in result.stderr, output
    assert "[1/3] Compiling JSON JSON.swift" in result.stderr, "build progress must be shown:\n" + output
    assert "the build failed" in result.stderr, output
    if builds:
        assert "--product partnerships-bench" in result.stderr, output
    # Nothing ran after the failed build: no stale binary, no tests, no "running" banner.
    assert "stale binary ran" not in output
    assert "SWIFT TEST RAN" not in output
    assert "is running" not in output
    assert ESC not in output, "no colour when stderr is not a terminal"


def test_version_names_the_release_and_the_commit_the_build_was_given():
    """`partnerships --version` and `partnerships version`: the version constant, and the commit the
    build was told (deploy scripts) or "unknown" (a plain swift build, as the tests' binary may be)."""
    from conftest import BINARY
    outputs = [subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=30) for args in (["--version"], ["version"])]
    for result in outputs:
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"partnerships \d+\.\d+\.\d+ \(commit (unknown|[0-9a-f]{7,40}(-dirty)?)\)\n", result.stdout), result.stdout
    assert outputs[0].stdout == outputs[1].stdout


def test_the_deploy_scripts_build_with_the_commit_of_the_tree(tmp_path):
    """swift_build hands `git describe --always --dirty` to the build (PARTNERSHIPS_BUILD_COMMIT), which
    Package.swift compiles into the binary; a value the caller set wins."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "swift").write_text('#!/bin/sh\necho "commit=$PARTNERSHIPS_BUILD_COMMIT"\n')
    (bin_dir / "swift").chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "PARTNERSHIPS_BUILD_COMMIT"}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    script = "source deploy/lib.sh; swift_build --product partnerships"
    described = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=REPO, capture_output=True,
                               text=True, timeout=30)
    expected = described.stdout.strip() if described.returncode == 0 else ""
    result = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert f"commit={expected}" in result.stderr
    result = subprocess.run(["bash", "-c", script], cwd=REPO, env=dict(env, PARTNERSHIPS_BUILD_COMMIT="v1.2.3"),
                            capture_output=True, text=True, timeout=30)
    assert "commit=v1.2.3" in result.stderr


def _messages(env, terminal):
    script = 'source deploy/lib.sh; step "a step"; warn "a warning"; note "a note"'
    if not terminal:
        result = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
        return result.stderr
    main, secondary = pty.openpty()
    try:
        subprocess.run(["bash", "-c", script], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=secondary, timeout=30)
        os.close(secondary)
        secondary = None
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        if secondary is not None:
            os.close(secondary)
        os.close(main)


def test_messages_have_colour_only_on_a_terminal_without_no_color():
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    piped = _messages(env, terminal=False)
    assert "==> a step" in piped and "warning: a warning" in piped
    assert ESC not in piped
    on_terminal = _messages(env, terminal=True)
    assert ESC in on_terminal and "a step" in on_terminal
    no_color = _messages(dict(env, NO_COLOR="1"), terminal=True)
    assert "==> a step" in no_color and "warning: a warning" in no_color
    assert ESC not in no_color


@pytest.fixture
def hello_run(tmp_path):
    """What deploy/loadtest's cleanup works with: a state folder, and this run's own copies of two
    programs as HELLO_BIN and PHP_FPM_BIN (sleep stands in for the C hello world and php-fpm);
    every process they run is SIGKILLed at the end whatever the test saw."""
    if not shutil.which("spawn-fcgi"):
        pytest.skip("spawn-fcgi is not installed (deploy/loadtest installs it)")
    state = tmp_path / "state"
    (state / "run").mkdir(parents=True)
    hello_bin, php_bin = tmp_path / "bin" / "hello-fcgi", tmp_path / "bin" / "php-fpm"
    hello_bin.parent.mkdir()
    shutil.copy("/bin/sleep", hello_bin)
    shutil.copy("/bin/sleep", php_bin)
    env = dict(os.environ, HELLO_PIDS=str(state / "run" / "bench-hello.pids"), HELLO_BIN=str(hello_bin),
               PHP_FPM_PID=str(state / "run" / "bench-php.pid"), PHP_FPM_BIN=str(php_bin), STATE=str(state))
    started = []
    yield env, started
    kill_leftovers(started + running_copies(hello_bin) + running_copies(php_bin))
    kill_leftovers(watchdogs(hello_bin))


def processes_where(test):
    """Pids of the processes whose /proc folder passes `test` (processes that end meanwhile are skipped)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and test(entry):
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


def running_copies(program):
    """Pids of the processes whose executable is `program`."""
    return processes_where(lambda entry: os.path.samefile(entry / "exe", program))


def watchdogs(hello_bin):
    """cleanup.sh's watchdogs looking after this HELLO_BIN."""
    return processes_where(
        lambda entry: b"cleanup-watchdog" in (entry / "cmdline").read_bytes()
        and f"HELLO_BIN={hello_bin}".encode() in (entry / "environ").read_bytes().split(b"\0"))


def children_commands(pid):
    """The command lines of a process's children."""
    commands = []
    try:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            commands.append(Path(f"/proc/{child}/cmdline").read_bytes())
    except OSError:
        pass
    return commands


def spawn_hello(env, count):
    subprocess.run(["spawn-fcgi", "-s", str(Path(env["STATE"]) / "run" / "hello.sock"), "-F", str(count),
                    "-P", env["HELLO_PIDS"], "--", env["HELLO_BIN"], "300"], check=True, capture_output=True, timeout=30)
    return [int(line) for line in Path(env["HELLO_PIDS"]).read_text().split()]


def test_loadtest_cleanup_stops_every_spawned_hello_and_nothing_else(hello_run):
    """spawn-fcgi writes its pid file without a final newline (the last pid was once skipped, and one
    hello leaked per run); a hello it never wrote down is found by its executable; a pid in the file
    that another program has since is left alone."""
    env, started = hello_run
    pids = spawn_hello(env, 3)
    started += pids
    assert len(pids) == 3 and not Path(env["HELLO_PIDS"]).read_text().endswith("\n")
    unlisted = subprocess.Popen([env["HELLO_BIN"], "300"], start_new_session=True)
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    # php-fpm's pid file names its master only; its pool processes are found by the executable.
    php_master = subprocess.Popen([env["PHP_FPM_BIN"], "300"], start_new_session=True)
    php_pool = subprocess.Popen([env["PHP_FPM_BIN"], "300"], start_new_session=True)
    started += [unlisted.pid, bystander.pid, php_master.pid, php_pool.pid]
    Path(env["PHP_FPM_PID"]).write_text(f"{php_master.pid}\n")
    with open(env["HELLO_PIDS"], "a") as pids_file:
        pids_file.write(f"\n{bystander.pid}")
    # cleanup.sh's own cleanup, as the load test's EXIT trap runs it (no stack to stop here).
    result = subprocess.run(["bash", "-c", f"set -euo pipefail; source {REPO}/deploy/load/cleanup.sh; cleanup"],
                            env=dict(env, REPO_ROOT=str(Path(env["STATE"]).parent / "no-repo")), capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    unlisted.wait(timeout=5)
    php_master.wait(timeout=5)
    php_pool.wait(timeout=5)
    alive = still_running_after(pids, 5)
    assert alive == [], f"cleanup left {alive} of {pids} running"
    assert bystander.poll() is None, "a process that is not the hello program was signalled"


@pytest.mark.parametrize("ending", ["exit", "die", "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_no_hello_outlives_the_load_test_however_it_ends(hello_run, ending):
    """The load test's own lines around its reference processes: install_cleanup, spawn-fcgi, a
    php-fpm stand-in (a master in its own session and a pool process), then a long step (its wrk
    runs). However the script ends, even by SIGKILL to its whole process group (the watchdog then
    cleans up), no hello or php-fpm process and no watchdog is left."""
    env, started = hello_run
    body = {"exit": "true", "die": 'die "a check failed"'}.get(ending, "sleep 60")
    script = f"""source {REPO}/deploy/lib.sh
source {REPO}/deploy/load/cleanup.sh
install_cleanup
spawn-fcgi -s "$STATE/run/hello.sock" -F 2 -P "$HELLO_PIDS" -- "$HELLO_BIN" 300 >/dev/null
setsid "$PHP_FPM_BIN" 300 </dev/null >/dev/null 2>&1 &
echo $! > "$PHP_FPM_PID"
setsid "$PHP_FPM_BIN" 301 </dev/null >/dev/null 2>&1 &
running_php() {{ for exe in /proc/[0-9]*/exe; do if [ "$exe" -ef "$PHP_FPM_BIN" ]; then echo "${{exe//[!0-9]/}}"; fi; done; }}
for _ in $(seq 250); do if [ "$(running_php | wc -l)" = 2 ]; then break; fi; sleep 0.02; done
running_php > "$STATE/php-started.pids"
echo ready
{body}
"""
    process = subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    assert process.stdout.readline() == b"ready\n", process.stderr.read()
    pids = [int(line) for line in Path(env["HELLO_PIDS"]).read_text().split()]
    started += pids
    assert len(pids) == 2
    php_pids = [int(line) for line in (Path(env["STATE"]) / "php-started.pids").read_text().split()]
    started += php_pids
    assert len(php_pids) == 2
    if ending.startswith("SIG"):
        # Once the long step runs (a signal that reaches its process between fork and exec is lost
        # with it, and bash then waits the whole step out before it exits).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"sleep\x0060\x00" not in children_commands(process.pid):
            time.sleep(0.02)
        os.killpg(process.pid, getattr(signal, ending))  # as a terminal or a CI runner signals a job
    process.wait(timeout=30)
    alive = still_running_after(pids + running_copies(env["HELLO_BIN"]), 8)
    assert alive == [], f"{ending}: hello processes {alive} outlived the script"
    alive = still_running_after(php_pids + running_copies(env["PHP_FPM_BIN"]), 8)
    assert alive == [], f"{ending}: php-fpm processes {alive} outlived the script"
    deadline = time.monotonic() + 8
    while watchdogs(env["HELLO_BIN"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert watchdogs(env["HELLO_BIN"]) == [], "the watchdog must end too"
    if ending != "SIGKILL":
        assert process.returncode != 0 or ending == "exit"


def php_fpm_binary():
    """The php-fpm that deploy/loadtest would find (Debian 12: /usr/sbin/php-fpm8.2), or None."""
    candidates = [shutil.which("php-fpm")] + sorted(map(str, Path("/usr/sbin").glob("php-fpm[0-9]*")), reverse=True)
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def test_loadtest_cleanup_stops_a_real_php_fpm_whose_master_was_killed(hello_run):
    """A real php-fpm, daemonized as deploy/loadtest starts it (its own copy of the binary, pm =
    static): once its master is SIGKILLed its pool processes serve on as orphans, and cleanup still
    stops them all, found by the executable."""
    system = php_fpm_binary()
    if not system:
        pytest.skip("php-fpm is not installed (deploy/loadtest installs it)")
    env, started = hello_run
    php_bin, state = Path(env["PHP_FPM_BIN"]), Path(env["STATE"])
    shutil.copy(system, php_bin)
    pool_user = "user = www-data\ngroup = www-data\n" if os.getuid() == 0 else ""
    config = state / "php-fpm.conf"
    config.write_text(f"[global]\npid = {env['PHP_FPM_PID']}\nerror_log = {state / 'php-fpm.log'}\ndaemonize = yes\n"
                      f"[bench]\n{pool_user}listen = {state / 'run' / 'bench-php.sock'}\npm = static\npm.max_children = 2\n")
    result = subprocess.run([str(php_bin), "--fpm-config", str(config)], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr + (state / "php-fpm.log").read_text()
    pids = running_copies(php_bin)
    started += pids
    master = int(Path(env["PHP_FPM_PID"]).read_text())
    assert master in pids and len(pids) == 3, pids
    os.kill(master, signal.SIGKILL)
    assert still_running_after([master], 5) == []
    orphans = [pid for pid in pids if pid != master]
    assert still_running_after(orphans, 0.5) == orphans, "php-fpm's pool processes outlive their master"
    result = subprocess.run(["bash", "-c", f"set -euo pipefail; source {REPO}/deploy/load/cleanup.sh; cleanup"],
                            env=dict(env, REPO_ROOT=str(state.parent / "no-repo")), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    alive = still_running_after(pids, 5)
    assert alive == [], f"cleanup left php-fpm processes {alive} running"
