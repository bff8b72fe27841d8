"""`partnerships store migrate`: a JSON store into PostgreSQL and back (a backup file that `store
restore` loads), each copy checked by counts and checksums; a stack then serves the migrated data
(a token made in the JSON store works). Runs whenever a PostgreSQL test server is there."""
import json
import subprocess

import pytest

from conftest import BINARY, POSTGRES_URL, Stack, fresh_postgres_store, make_state

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: PARTNERSHIPS_TEST_POSTGRES_URL (deploy/test sets it)")


def run(*args, check=True):
    result = subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, f"partnerships {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def records(*location):
    return json.loads(run("store", "stats", *location).stdout)["records"]


def test_a_json_store_into_postgres_and_back_with_the_same_records(tmp_path, tmp_path_factory, docs_root):
    folder = str(tmp_path / "data")
    run("store", "init", "--data", folder)
    printed = run("lead-provider", "demo", "--data", folder).stdout
    token = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)["LEAD_PROVIDER_TOKEN"]
    before = records("--data", folder)
    assert sum(before.values()) > 100, before

    url = fresh_postgres_store()
    migrated = run("store", "migrate", "--from", folder, "--to", url)
    assert "DIFFERS" not in migrated.stdout and migrated.stdout.count("ok ") == len(before) + 1, migrated.stdout
    assert records("--store", url) == before
    assert run("store", "verify", "--store", url).stdout.strip().endswith("ok")

    # Into a schema that holds records: refused, nothing added.
    again = run("store", "migrate", "--from", folder, "--to", url, check=False)
    assert again.returncode != 0 and "migrate into an empty schema" in again.stderr, again.stderr
    assert records("--store", url) == before

    # Back: a backup file, loaded by `store restore` into a new JSON store.
    backup = str(tmp_path / "from-postgres.backup")
    back = run("store", "migrate", "--from", url, "--to", backup)
    assert "DIFFERS" not in back.stdout, back.stdout
    other = str(tmp_path / "other")
    run("store", "init", "--data", other)
    run("store", "restore", "--data", other, backup, "--force")
    assert records("--data", other) == before

    # A stack on the migrated schema serves what the JSON store held.
    stack = Stack(make_state(tmp_path_factory), ["--workers", "1"], env={"DOCS_ROOT": str(docs_root)})
    stack.store_url = url
    stack.env["PARTNERSHIPS_STORE"] = url
    stack.start()
    try:
        response = stack.get("/api/v3/partnerships", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["data"], response.text
    finally:
        stack.stop()
