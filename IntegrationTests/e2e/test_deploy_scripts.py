"""The deploy scripts themselves: a failed build stops deploy/up, deploy/test and deploy/loadtest
(either of its two products) with the compiler's errors and build progress, messages are plain
text off a terminal or with NO_COLOR, and deploy/loadtest's cleanup stops every process spawn-fcgi
started.

The build tests run copies of the scripts in a scratch repository with a stand-in `swift` that
fails like a real compile error (and a stand-in dpkg-query, so nothing is installed): fast, and
nothing of this repository's .build is touched."""
import os
import pty
import re
import shutil
import subprocess
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


def test_loadtest_cleanup_stops_every_spawned_hello(tmp_path):
    """spawn-fcgi writes its pid file without a final newline; every pid in it must be stopped."""
    if not shutil.which("spawn-fcgi"):
        pytest.skip("spawn-fcgi is not installed (deploy/loadtest installs it)")
    state = tmp_path / "state"
    (state / "run").mkdir(parents=True)
    pids_file = state / "run" / "bench-hello.pids"
    subprocess.run(["spawn-fcgi", "-s", str(state / "run" / "hello.sock"), "-F", "3", "-P", str(pids_file),
                    "--", "/bin/sleep", "300"], check=True, capture_output=True, timeout=30)
    pids = [int(line) for line in pids_file.read_text().split()]
    assert len(pids) == 3 and not pids_file.read_text().endswith("\n")
    try:
        # deploy/loadtest's own cleanup function, run as the script's EXIT trap runs it.
        loadtest = (REPO / "deploy" / "loadtest").read_text()
        start = loadtest.index("cleanup() {")
        cleanup = loadtest[start:loadtest.index("\n}\n", start) + 3]
        subprocess.run(["bash", "-c", f'{cleanup}\ncleanup'], env=dict(os.environ, HELLO_PIDS=str(pids_file), STATE=str(state),
                                                                     REPO_ROOT=str(tmp_path / "no-repo")),
                       check=True, timeout=30)
        alive = still_running_after(pids, 5)
        assert alive == [], f"cleanup left {alive} of {pids} running"
    finally:
        kill_leftovers(pids)
