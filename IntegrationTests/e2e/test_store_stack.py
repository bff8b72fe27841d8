"""The store inside a deployed stack: compaction starts on its own in the background (never inside
a request) and loses nothing; a damaged store refuses to start at once, naming the file and byte."""
import subprocess
import threading
import time

from conftest import BINARY, REPO, Stack, json_store_only, make_state
from helpers import cli, create_token

# Compaction, damaged files and journal appends that fail: all about the JSON store's files.
pytestmark = json_store_only


def store_stats(stack):
    import json
    return json.loads(cli(stack, "store", "stats"))


def test_compaction_starts_by_itself_off_the_request_path_and_loses_nothing(make_stack):
    stack = make_stack("--workers", "2", "--compaction-threshold", "20000")
    headers = {"Authorization": "Bearer " + create_token(stack, staff="compaction test")}
    generation = store_stats(stack)["generation"]
    created, slowest = [], [0.0]
    errors = []

    def writer(prefix):
        for i in range(150):
            started = time.monotonic()
            response = stack.post("/v1/admin/users", json={"name": f"{prefix} user {i} " + "x" * 150}, headers=headers)
            slowest[0] = max(slowest[0], time.monotonic() - started)
            if response.status_code != 201:
                errors.append(response.text)
            else:
                created.append(response.json()["id"])

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    # The supervisor notices the journal past the threshold and starts `store compact --background`.
    stack.wait_until(lambda: store_stats(stack)["generation"] > generation, timeout=30, what="a background compaction")
    stack.wait_until(lambda: any(line.get("message") == "compacted" for line in stack.log_lines()), timeout=30,
                     what="the compactor's log line")
    compacted = [line for line in stack.log_lines() if line.get("message") == "compacted"]
    assert compacted[0]["component"] == "compactor"
    stats = store_stats(stack)
    assert stats["records"]["pa_users"] == len(created) == 300
    verify = cli(stack, "store", "verify")
    assert verify.strip().endswith("ok"), verify
    assert len(set(created)) == 300


def test_a_damaged_store_refuses_to_start_at_once_naming_the_file_and_byte(tmp_path_factory, docs_root):
    state = make_state(tmp_path_factory)
    data = state / "data"
    subprocess.run([str(BINARY), "store", "init", "--data", str(data)], check=True, capture_output=True)
    subprocess.run([str(BINARY), "token", "create", "--data", str(data), "--staff", "before damage"], check=True, capture_output=True)
    subprocess.run([str(BINARY), "store", "compact", "--data", str(data)], check=True, capture_output=True)
    data_file = data / "data-1.jsonl"
    content = bytearray(data_file.read_bytes())
    middle = content.index(b"\n") + 40  # inside the first record line
    content[middle] ^= 0x20
    data_file.write_bytes(bytes(content))

    stack = Stack(state, ["--workers", "2"], env={"DOCS_ROOT": str(docs_root)})
    started = time.monotonic()
    result = stack._run("start", "--https-port", str(stack.https_port), "--http-port", str(stack.http_port),
                        "--binary", str(BINARY), check=False)
    elapsed = time.monotonic() - started
    try:
        assert result.returncode != 0
        assert elapsed < 15, f"took {elapsed:.1f} s to refuse"
        output = result.stdout + result.stderr
        assert "data-1.jsonl is damaged at byte" in output, output  # deploy/stack shows the server's own words
        log = (state / "logs" / "partnerships.log").read_text()
        assert "data-1.jsonl is damaged at byte" in log, log
        verify = subprocess.run([str(BINARY), "store", "verify", "--data", str(data)], capture_output=True, text=True)
        assert verify.returncode == 1 and "data-1.jsonl" in verify.stdout, verify.stdout
    finally:
        stack.stop()


def test_a_full_disk_answers_507_in_the_family_format_and_saves_nothing(make_stack):
    """strace makes the only worker's journal appends fail with ENOSPC: the create is answered 507
    in the Partners API's own error format, nothing is stored, and once the disk has room again
    (strace detached) the next create works."""
    import shutil
    strace = shutil.which("strace")
    assert strace, "strace is not installed (deploy/test installs it)"
    stack = make_stack("--workers", "1")
    headers = {"Authorization": "Bearer " + create_token(stack, staff="disk full test")}
    before = store_stats(stack)["records"].get("pa_users", 0)
    worker = next(iter(stack.worker_pids()))
    tracer = subprocess.Popen([strace, "-p", str(worker), "-o", "/dev/null", "-e", "trace=pwrite64",
                               "-e", "inject=pwrite64:error=ENOSPC"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        response = None
        while time.monotonic() < deadline:  # strace needs a moment to attach
            response = stack.post("/v1/admin/users", json={"name": "not saved"}, headers=headers)
            if response.status_code == 507:
                break
            assert response.status_code == 201, response.text
            before += 1
            time.sleep(0.2)
        assert response is not None and response.status_code == 507, response.text if response is not None else "no answer"
        body = response.json()
        assert body[0]["classification"] == "ServerError" and "disk space" in body[0]["message"], body
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    time.sleep(0.5)
    saved = stack.post("/v1/admin/users", json={"name": "saved"}, headers=headers)
    assert saved.status_code == 201, saved.text
    assert store_stats(stack)["records"]["pa_users"] == before + 1
    assert any(line.get("message", "").startswith("write refused: disk full") for line in stack.log_lines())
    verify = cli(stack, "store", "verify")
    assert verify.strip().endswith("ok"), verify


def test_an_idle_worker_finishes_its_move_onto_a_compacted_generation_without_more_requests(make_stack):
    """After a compaction, the worker's next request starts its move onto the new generation. The
    move, and freeing the view it replaced, run after answers and while no request is queued, never
    inside one: with no further request the worker says the move is done and stops mapping the
    replaced generation's files (its old view held them)."""
    stack = make_stack("--workers", "1", "--compaction-threshold", "1000000000")
    headers = {"Authorization": "Bearer " + create_token(stack, staff="idle move test")}
    cli(stack, "store", "compact")  # the generation the worker serves from has files to map

    def writer(prefix):
        for i in range(200):
            response = stack.post("/v1/admin/users", json={"name": f"{prefix} user {i}"}, headers=headers)
            assert response.status_code == 201, response.text

    # 400 records in the journal, each held by the worker's view: freeing that view takes far longer
    # than the slice one answer allows.
    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    worker = next(iter(stack.worker_pids()))
    replaced = store_stats(stack)["generation"]
    cli(stack, "store", "compact")
    assert store_stats(stack)["generation"] == replaced + 1

    def maps_replaced_files():
        maps = open(f"/proc/{worker}/maps").read()
        return f"data-{replaced}.jsonl" in maps or f"hint-{replaced}.bin" in maps

    assert maps_replaced_files(), "the worker maps the generation it serves from"
    response = stack.post("/v1/admin/users", json={"name": "after the compaction"}, headers=headers)
    assert response.status_code == 201, response.text
    # No request from here on: only the worker's idle time can finish the work.
    stack.wait_until(lambda: any(line.get("message") == "moved onto the compacted generation"
                                 and line.get("generation") == str(replaced + 1) and line.get("pid") == worker
                                 for line in stack.log_lines()), timeout=10, what="the worker's move")
    stack.wait_until(lambda: not maps_replaced_files(), timeout=10, what="the replaced generation unmapped")
    assert store_stats(stack)["records"]["pa_users"] == 401
