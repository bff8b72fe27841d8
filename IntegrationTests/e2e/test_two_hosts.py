"""Two hosts over one database: two stacks (two supervisors, two nginx on their own ports, as two
app hosts behind a load balancer would be) on the same PostgreSQL schema. A write through one is
read through the other on the next request (its kept answers included); both creating the same
partnership at once gives exactly one success; kill -9 of one host's workers in the middle of
concurrent creates loses no acknowledged write. Runs whenever a PostgreSQL test server is there
(deploy/test starts one), on either pass."""
import os
import signal
import threading
import time

import pytest
import requests

from conftest import POSTGRES_URL, Stack, fresh_postgres_store, make_state
from helpers import Client, expect, together
from lead_provider_errors import errors
from test_lead_provider import DUPLICATE, OPEN, World, create_body, update_body

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: PARTNERSHIPS_TEST_POSTGRES_URL (deploy/test sets it)")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, docs_root):
    url = fresh_postgres_store()
    started = []
    try:
        for _ in range(2):
            host = Stack(make_state(tmp_path_factory), ["--workers", "2", "--request-timeout", "30"],
                         env={"DOCS_ROOT": str(docs_root)})
            host.store_url = url
            host.env["PARTNERSHIPS_STORE"] = url
            started.append(host.start())
        yield started
    finally:
        for host in started:
            host.stop()


@pytest.fixture(scope="module")
def world(hosts):
    return World(hosts[0])


def test_a_write_through_one_host_is_read_through_the_other_on_the_next_request(hosts, world):
    a, b = hosts
    _, client_a, dp1, dp2, _ = world.partner_setup()
    client_b = Client(b, client_a.token)
    school = world.school()["id"]
    created = expect(client_a.post("/api/v3/partnerships", create_body(OPEN, school, dp1)), 200)["data"]
    # Twice through B: the second answer may be one B's workers kept.
    for _ in range(2):
        assert expect(client_b.get(f"/api/v3/partnerships/{created['id']}"), 200)["data"] == created
    expect(client_a.put(f"/api/v3/partnerships/{created['id']}", update_body(dp2)), 200)
    for _ in range(4):  # both of B's workers
        shown = expect(client_b.get(f"/api/v3/partnerships/{created['id']}"), 200)["data"]
        assert shown["attributes"]["delivery_partner_id"] == dp2, "B answered from before A's write"


def test_another_hosts_change_to_a_record_a_kept_answer_found_by_index_ends_it(hosts, world):
    """B's kept GET one read the school's participants by an index key; A adds one: the next GET
    through B counts the new participant (a kept answer ends with any change to what it read,
    through an index too, whichever host made it)."""
    a, b = hosts
    provider, client_a, dp1, _, _ = world.partner_setup()
    client_b = Client(b, client_a.token)
    school = world.school()["id"]
    created = expect(client_a.post("/api/v3/partnerships", create_body(OPEN, school, dp1)), 200)["data"]
    path = f"/api/v3/partnerships/{created['id']}"
    for _ in range(4):  # kept by both of B's workers
        assert expect(client_b.get(path), 200)["data"]["attributes"]["participants_currently_training"] == 0
    world.participant(school, OPEN, provider)
    for _ in range(4):
        shown = expect(client_b.get(path), 200)["data"]["attributes"]["participants_currently_training"]
        assert shown == 1, "B answered from before A's write"


def test_two_hosts_creating_the_same_partnership_at_once_exactly_one_succeeds(hosts, world):
    a, b = hosts
    _, client_a, dp1, dp2, _ = world.partner_setup()
    client_b = Client(b, client_a.token)
    for _ in range(3):
        school = world.school()["id"]
        calls = [lambda client=client, dp=dp: client.post("/api/v3/partnerships", create_body(OPEN, school, dp))
                 for client in (client_a, client_b) for dp in (dp1, dp2, dp1)]
        responses = together(calls)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [422] * 5, statuses
        assert all(r.json() == errors(DUPLICATE) for r in responses if r.status_code == 422)
        listed = expect(client_b.get("/api/v3/partnerships"), 200)["data"]
        assert [p["attributes"]["school_id"] for p in listed].count(school) == 1


def test_kill_9_of_one_hosts_workers_under_concurrent_creates_loses_no_acknowledged_write(hosts, world):
    a, b = hosts
    staff = {host: Client(host, world.staff.token) for host in hosts}
    _, provider = world.provider()
    reader = {host: Client(host, provider.token) for host in hosts}
    acknowledged, unknown = [], []
    lock = threading.Lock()
    stop = threading.Event()

    def creator(number):
        # Bounded: at most 80 creates or until told to stop.
        for i in range(80):
            if stop.is_set():
                return
            host = hosts[(number + i) % 2]
            urn = f"{700_000 + number * 1000 + i}"
            try:
                response = staff[host].post("/api/v3/admin/schools", {"urn": urn, "name": f"Kill {urn}",
                                                                      "funding_eligible_cohorts": [OPEN]})
            except requests.RequestException:
                with lock:
                    unknown.append(urn)  # cut off with the worker: its outcome is unknown
                continue
            with lock:
                if response.status_code == 201:
                    acknowledged.append(response.json()["data"]["id"])
                else:
                    # 502 from nginx for a request whose worker was killed: not acknowledged.
                    assert response.status_code in (502, 503), response.text
                    unknown.append(urn)

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        a.wait_until(lambda: len(acknowledged) >= 20, timeout=30, what="creates under way")
        victims = a.worker_pids()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        a.wait_until(lambda: len(a.worker_pids() - victims) == 2, timeout=30, what="A's replacement workers")
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert len(acknowledged) >= 20
    for host in hosts:
        for school_id in acknowledged:
            expect(reader[host].get(f"/api/v3/schools/{school_id}?filter[cohort]={OPEN}"), 200)
