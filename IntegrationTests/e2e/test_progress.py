"""Long store commands show a progress line on a terminal (how far, how fast, how long left) and
stay quiet when stderr is not a terminal or with --quiet. A real pseudo-terminal, a real store."""
import json
import os
import pty
import subprocess

import pytest

from conftest import BINARY


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    data = tmp_path_factory.mktemp("progress") / "data"
    for args in (["store", "init"], ["lead-provider", "demo"]):
        result = subprocess.run([str(BINARY), *args, "--data", str(data)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    return data


def on_terminal(command):
    """Runs `command` with stderr on a pseudo-terminal: (exit status, stdout, what the terminal got)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, text=True)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the follower side closed: the command is done
                break
            if not chunk:
                break
            seen += chunk
        stdout, _ = process.communicate(timeout=120)
        return process.returncode, stdout, seen.decode(errors="replace")
    finally:
        os.close(leader)


def run(store, *args, terminal):
    """The command's (exit status, stdout, stderr); stderr is a pseudo-terminal when `terminal`."""
    command = [str(BINARY), *args, "--data", str(store)]
    if terminal:
        return on_terminal(command)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("args, label, unit", [
    (["store", "compact"], "compact:", "records/s"),
    (["store", "verify"], "verify: data file:", "/s"),
])
def test_a_terminal_gets_a_progress_line(store, args, label, unit):
    status, stdout, stderr = run(store, *args, terminal=True)
    assert status == 0, stdout + stderr
    assert label in stderr and unit in stderr and "(100%)" in stderr, repr(stderr)
    assert label not in stdout  # the result stays on stdout, progress on stderr


@pytest.mark.parametrize("args", [["store", "compact"], ["store", "verify"], ["store", "backup", "BACKUP"]])
def test_no_progress_without_a_terminal_or_with_quiet(store, tmp_path, args):
    args = [str(tmp_path / "backup.jsonl") if a == "BACKUP" else a for a in args]
    status, stdout, stderr = run(store, *args, terminal=False)
    assert status == 0, stdout + stderr
    assert "\r" not in stderr and "/s" not in stderr, repr(stderr)
    status, stdout, stderr = run(store, *args, "--quiet", terminal=True)
    assert status == 0, stdout + stderr
    assert "/s" not in stderr, repr(stderr)


def test_bench_seed_shows_each_phase_on_a_terminal_and_keeps_stdout_for_its_variables(tmp_path):
    bench = BINARY.parent / "partnerships-bench"
    assert bench.exists(), f"{bench} not built (swift build --build-tests builds it)"
    command = [str(bench), "bench-seed", "--data", str(tmp_path / "data"), "--schools", "300", "--partnerships", "300",
               "--update-targets", "10", "--creators", "1", "--ids", str(tmp_path)]
    status, stdout, stderr = on_terminal(command)
    assert status == 0, stderr
    for phase in ("bench-seed: schools", "bench-seed: partnerships of lead provider 0", "bench-seed: compact"):
        assert phase in stderr, repr(stderr)
    assert "STAFF_TOKEN=" in stdout and "bench-seed" not in stdout


def test_an_import_shows_its_rows_on_a_terminal(tmp_path):
    data = tmp_path / "data"
    subprocess.run([str(BINARY), "store", "init", "--data", str(data)], check=True, capture_output=True, timeout=60)
    rows = [{"urn": str(700_000 + i), "name": f"School {i}", "funding_eligible_cohorts": []} for i in range(500)]
    (tmp_path / "schools.json").write_text(json.dumps(rows))
    command = [str(BINARY), "lead-provider", "import", "--kind", "schools", str(tmp_path / "schools.json"), "--data", str(data)]
    status, stdout, stderr = on_terminal(command)
    assert status == 0, stdout + stderr
    assert "import schools: 500 / 500 records (100%)" in stderr, repr(stderr)
    assert "imported 500 schools" in stdout
    result = subprocess.run([*command[:-2], "--quiet", "--data", str(tmp_path / "other")], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0  # no store there: refused, and no progress line either way
    assert "/s" not in result.stderr
