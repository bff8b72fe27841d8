"""Long store commands show a progress line on a terminal (how far, how fast, how long left) and
stay quiet when stderr is not a terminal or with --quiet. A real pseudo-terminal, a real store."""
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


def run(store, *args, terminal):
    """The command's (exit status, stdout, stderr); stderr is a pseudo-terminal when `terminal`."""
    command = [str(BINARY), *args, "--data", str(store)]
    if not terminal:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout, result.stderr
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
