"""Lead Provider API v3 end to end, through nginx over HTTPS, against the facts of
../shared/reference/lead-provider-v3.md: every endpoint, every error row (title and detail exact),
auth, pagination, filters, sort, computed fields, tenant isolation, staff extras, concurrency and
the import command. Reference data is seeded through the staff endpoints."""
import json
import re
import time
import uuid
from datetime import datetime, timezone

import pytest

from helpers import Client, cli, create_token, expect, raw_request, run_cli, token_id, together, unknown_id
from lead_provider_errors import BAD_JSON, NOT_FOUND, UNAUTHORIZED, errors

CLOSED, OPEN, OPEN_NEXT, FUTURE, BIG = "2023", "2025", "2026", "2030", "2040"
# To the second, as the real service's serializers write them (`time.utc.rfc3339`), although the
# official document's examples show milliseconds (`2021-05-31T02:22:32.000Z`): docs/lead-provider-api.md.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PARTNERSHIP_ATTRIBUTES = ["cohort", "urn", "school_id", "delivery_partner_id", "delivery_partner_name", "induction_tutor_name",
                          "induction_tutor_email", "participants_currently_training", "created_at", "updated_at"]
SCHOOL_ATTRIBUTES = ["name", "urn", "cohort", "in_partnership", "induction_programme_choice", "expression_of_interest",
                     "induction_tutor_name", "induction_tutor_email", "created_at", "updated_at"]


BAD_PAGE = errors(("Bad request", "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid positive number"))
BAD_SINCE = errors(("Bad request", "The filter '#/updated_since' must be a valid ISO 8601 date"))
NO_COHORT_FILTER = errors(("Bad parameter", "The filter '#/cohort' must be included in your request"))
MISSING = {f: (f, f"Enter a '#/{f}'.") for f in ("cohort", "school_id", "delivery_partner_id")}
COHORT_INVALID = ("cohort", "The '#/cohort' you have entered is invalid. Check cohort details and try again.")
COHORT_FUTURE = ("cohort", "You cannot create a partnership for a future cohort.")
COHORT_CLOSED = ("cohort", "You cannot create this partnership as the cohort is closed.")
SCHOOL_INVALID = ("school_id", "The '#/school_id' you have entered is invalid. Check school details and try again. "
                               "Contact the DfE for support if you are unable to find the '#/school_id'.")
SCHOOL_INELIGIBLE = ("school_id", "The school you have entered is currently ineligible for DfE funding. Contact the school for more information.")
DUPLICATE = ("school_id", "You are already in a confirmed partnership with this school for the entered cohort.")
SCHOOL_LED = ("school_id", "This school has only registered school-led participants. Contact the school for more information.")
PARTNER_INVALID = ("delivery_partner_id", "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again.")
PARTNER_NOT_LINKED = ("delivery_partner_id", "The entered delivery partner is not recognised to be working in partnership with you "
                                             "for the given cohort. Contact the DfE for more information.")
PARTNER_ALREADY = ("delivery_partner_id", "We are unable to process this request. You are already confirmed to be in partnership "
                                          "with the entered delivery partner. Contact the DfE for support.")


def create_body(cohort, school_id, delivery_partner_id, **extra):
    return {"data": {"type": "partnership", "attributes": {"cohort": cohort, "school_id": school_id,
                                                          "delivery_partner_id": delivery_partner_id, **extra}}}


def update_body(delivery_partner_id):
    return {"data": {"type": "partnership", "attributes": {"delivery_partner_id": delivery_partner_id}}}


def ids(response_body):
    return [item["id"] for item in response_body["data"]]


class World:
    """Reference data through the staff endpoints; each test makes the providers and schools it needs."""

    def __init__(self, stack):
        self.stack = stack
        self.staff = Client(stack, create_token(stack, staff="e2e staff"))
        self.urn = 500_000
        for year, opens, closes in [(CLOSED, "2022-06-01T00:00:00Z", "2024-07-31T00:00:00Z"), (OPEN, "2024-06-01T00:00:00Z", None),
                                    (OPEN_NEXT, "2025-06-01T00:00:00Z", None), (FUTURE, "2029-06-01T00:00:00Z", None),
                                    (BIG, "2039-06-01T00:00:00Z", None)]:
            self.admin("cohorts", {"year": year, "registration_opens_at": opens, "registration_closes_at": closes})

    def admin(self, path, body, status=201):
        return expect(self.staff.post(f"/api/v3/admin/{path}", body), status)["data"]

    def delivery_partner(self, name="Hub"):
        return self.admin("delivery-partners", {"name": name})["id"]

    def provider(self, links=None, name="Provider"):
        """A lead provider linked to delivery partners ({dp_id: [years]}); (id, Client with its token)."""
        provider_id = self.admin("lead-providers", {"name": name})["id"]
        for partner, years in (links or {}).items():
            for year in years:
                self.admin("delivery-partner-links", {"lead_provider_id": provider_id, "delivery_partner_id": partner, "cohort": year})
        return provider_id, Client(self.stack, create_token(self.stack, lead_provider=provider_id))

    def school(self, eligible=(OPEN, OPEN_NEXT, CLOSED, FUTURE), tutor="Ada Tutor"):
        self.urn += 1
        body = {"urn": str(self.urn), "name": f"School {self.urn}", "funding_eligible_cohorts": list(eligible)}
        if tutor:
            body.update(induction_tutor_name=tutor, induction_tutor_email=tutor.lower().replace(" ", ".") + "@school.example")
        return self.admin("schools", body)

    def participant(self, school_id, cohort=OPEN, provider=None, programme="provider_led"):
        return self.admin("participants", {"school_id": school_id, "cohort": cohort, "lead_provider_id": provider,
                                           "training_programme": programme})["id"]

    def set_participant(self, participant_id, **changes):
        return expect(self.staff.patch(f"/api/v3/admin/participants/{participant_id}", changes), 200)

    def partner_setup(self, years=(OPEN, OPEN_NEXT, CLOSED, FUTURE)):
        """A provider linked to two delivery partners, and one delivery partner it is not linked to."""
        dp1, dp2, stranger = self.delivery_partner("Linked One"), self.delivery_partner("Linked Two"), self.delivery_partner("Stranger")
        provider_id, client = self.provider({dp1: years, dp2: years})
        return provider_id, client, dp1, dp2, stranger


def partnership(client, cohort, school_id, dp):
    return expect(client.post("/api/v3/partnerships", create_body(cohort, school_id, dp)), 200)["data"]


@pytest.fixture(scope="module")
def world(api_stack):
    return World(api_stack)


def school_view(client, school_id, cohort=OPEN):
    return expect(client.get(f"/api/v3/schools/{school_id}?filter[cohort]={cohort}"), 200)["data"]["attributes"]


def utc_now_seconds():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def a_second_later_than_now():
    """A timestamp later than every write acknowledged so far (the API shows whole seconds)."""
    time.sleep(1.1)
    return utc_now_seconds()


# --- auth ---------------------------------------------------------------------------------------

ENDPOINTS = [("GET", "/api/v3/partnerships"), ("POST", "/api/v3/partnerships"), ("GET", "/api/v3/partnerships/{id}"),
             ("PUT", "/api/v3/partnerships/{id}"), ("PATCH", "/api/v3/partnerships/{id}"),
             ("GET", "/api/v3/schools?filter[cohort]=2025"), ("GET", "/api/v3/schools/{id}?filter[cohort]=2025"),
             ("GET", "/api/v3/delivery-partners"), ("GET", "/api/v3/delivery-partners/{id}")]


def test_missing_unknown_and_revoked_tokens_get_401_on_every_endpoint(world):
    provider_id, client, dp1, _, _ = world.partner_setup()
    school = world.school()
    created = partnership(client, OPEN, school["id"], dp1)
    label = f"to-revoke-{unknown_id()}"
    revoked_token = create_token(world.stack, label, lead_provider=provider_id)
    cli(world.stack, "token", "revoke", token_id(world.stack, label))
    # A Partners API user's token is no credential here either.
    partners_user = expect(world.staff.post("/v1/admin/users", {"name": "Someone Else"}), 201)["id"]
    callers = [Client(world.stack), Client(world.stack, "not-a-real-token"), Client(world.stack, revoked_token),
               Client(world.stack, client.token, word="Basic"), Client(world.stack, "ptk_" + "x" * 43),
               Client(world.stack, create_token(world.stack, partners_user=partners_user))]
    for method, template in ENDPOINTS:
        target_id = {"partnerships": created["id"], "schools": school["id"], "delivery-partners": dp1}[template.split("/")[3].split("?")[0]]
        path = template.format(id=target_id)
        for caller in callers:
            response = caller.call(method, path, create_body(OPEN, school["id"], dp1) if method != "GET" else None)
            expect(response, 401, UNAUTHORIZED)
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="Application"'
    assert client.token not in cli(world.stack, "token", "list")  # listed, never shown again
    # Revoking one token leaves the provider's other token working.
    expect(client.get("/api/v3/partnerships"), 200)


def test_two_authorization_headers_are_rejected(world):
    _, client, _, _, _ = world.partner_setup()
    for second in (client.token, "other"):
        status, body = raw_request(world.stack, "GET", "/api/v3/partnerships",
                                   [("Authorization", f"Bearer {client.token}"), ("Authorization", f"Bearer {second}")])
        # nginx refuses it before any worker sees it (the worker would too: RequestMapping), in this API's format.
        assert status == 400
        assert list(body) == ["errors"] and body["errors"][0]["title"] == "Bad request"
        assert "repeats a header" in body["errors"][0]["detail"]


NGINX_PAGES = [  # (what, request arguments, status, title): errors nginx answers before any worker sees the request
    ("URI over 8 KiB", dict(method="GET", path="/api/v3/partnerships?filter[cohort]=" + "2025," * 2000), 414, "URI too long"),
    ("URI over 8 KiB without a slash", dict(method="GET", path="/api/v3?" + "a" * 9000), 414, "URI too long"),
    ("body over 1 MiB", dict(method="POST", path="/api/v3/partnerships", data=b"x" * 1_100_000), 413, "Payload too large"),
    ("header over 8 KiB", dict(method="GET", path="/api/v3/partnerships", headers={"X-Big": "b" * 9000}), 431,
     "Request header fields too large"),
]


@pytest.mark.parametrize("arguments,status,title", [case[1:] for case in NGINX_PAGES], ids=[case[0] for case in NGINX_PAGES])
def test_errors_nginx_answers_itself_under_api_v3_are_in_this_apis_format(world, arguments, status, title):
    """A client of this API reads one error format, even when nginx answers before the API does;
    other paths keep nginx's common format."""
    arguments = dict(arguments)
    path = arguments.pop("path")
    response = world.stack.session.request(url=world.stack.url(path), timeout=30, **arguments)
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert re.match(r"^[0-9a-f]{32}$", response.headers["X-Request-Id"])
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1 and list(body["errors"][0]) == ["title", "detail"]
    assert body["errors"][0]["title"] == title
    for other in ("/v1/projects", "/api/directory/x", "/api/v3x"):
        response = world.stack.session.request(url=world.stack.url(path.replace("/api/v3", other, 1)), timeout=30, **arguments)
        assert response.status_code == status
        assert response.json()["status"] == status and response.json()["request_id"] == response.headers["X-Request-Id"]


def test_staff_and_provider_tokens_are_kept_to_their_own_endpoints(world):
    _, client, dp1, _, _ = world.partner_setup()
    expect(world.staff.get("/api/v3/partnerships"), 403, errors(("Forbidden", "This endpoint is for lead provider tokens.")))
    expect(client.post("/api/v3/admin/delivery-partners", {"name": "Mine"}), 403,
           errors(("Forbidden", "This endpoint is for DfE staff tokens only.")))
    expect(client.get("/api/v3/admin/cohorts"), 403)


# --- partnerships: create, show, list, update ---------------------------------------------------

def test_create_show_list_and_update_a_partnership(world):
    _, client, dp1, dp2, _ = world.partner_setup()
    school = world.school(tutor="Grace Hopper")
    response = client.post("/api/v3/partnerships", create_body(OPEN, school["id"], dp1, ignored_extra="yes"))
    created = expect(response, 200)
    assert list(created) == ["data"]
    data = created["data"]
    assert data["type"] == "partnership" and re.match(r"^[0-9a-f-]{36}$", data["id"])
    attributes = data["attributes"]
    assert list(attributes) == PARTNERSHIP_ATTRIBUTES
    assert {k: attributes[k] for k in PARTNERSHIP_ATTRIBUTES[:8]} == {
        "cohort": OPEN, "urn": school["attributes"]["urn"], "school_id": school["id"], "delivery_partner_id": dp1,
        "delivery_partner_name": "Linked One", "induction_tutor_name": "Grace Hopper",
        "induction_tutor_email": "grace.hopper@school.example", "participants_currently_training": 0}
    assert TIMESTAMP.match(attributes["created_at"]) and TIMESTAMP.match(attributes["updated_at"])

    assert expect(client.get(f"/api/v3/partnerships/{data['id']}"), 200) == created
    listed = expect(client.get("/api/v3/partnerships"), 200)
    assert list(listed) == ["data"] and listed["data"] == [data]

    time.sleep(1.1)
    for method in ("put", "patch"):
        target = dp2 if method == "put" else dp1
        updated = expect(getattr(client, method)(f"/api/v3/partnerships/{data['id']}", update_body(target)), 200)["data"]
        assert updated["id"] == data["id"]
        assert updated["attributes"]["delivery_partner_id"] == target
        assert updated["attributes"]["delivery_partner_name"] == ("Linked Two" if target == dp2 else "Linked One")
        assert updated["attributes"]["created_at"] == attributes["created_at"]
        assert updated["attributes"]["updated_at"] > attributes["updated_at"]


def test_create_error_rows_each_with_exact_title_and_detail(world):
    provider_id, client, dp1, dp2, stranger = world.partner_setup()
    school = world.school()["id"]
    ineligible = world.school(eligible=(OPEN_NEXT,))["id"]
    school_led = world.school()["id"]
    world.participant(school_led, OPEN, None, "school_led")
    partnership(client, OPEN, school, dp1)
    cases = [
        (create_body(None, None, None), [MISSING["cohort"], MISSING["school_id"], MISSING["delivery_partner_id"]]),
        ({"data": {"type": "partnership", "attributes": {"cohort": "", "school_id": school}}},
         [MISSING["cohort"], MISSING["delivery_partner_id"]]),
        (create_body("1999", school, dp2), [COHORT_INVALID]),
        (create_body(FUTURE, world.school()["id"], dp1), [COHORT_FUTURE]),
        (create_body(CLOSED, world.school()["id"], dp1), [COHORT_CLOSED]),
        (create_body(OPEN, unknown_id(), dp1), [SCHOOL_INVALID]),
        (create_body(OPEN, ineligible, dp1), [SCHOOL_INELIGIBLE]),
        (create_body(OPEN, school, dp1), [DUPLICATE]),
        (create_body(OPEN, school, dp2), [DUPLICATE]),  # any delivery partner
        (create_body(OPEN, school_led, dp1), [SCHOOL_LED]),
        (create_body(OPEN, world.school()["id"], unknown_id()), [PARTNER_INVALID]),
        (create_body(OPEN, world.school()["id"], stranger), [PARTNER_NOT_LINKED]),
        # Several at once, in the validation order; a field's later checks wait for the others.
        (create_body("1999", unknown_id(), unknown_id()), [COHORT_INVALID, SCHOOL_INVALID, PARTNER_INVALID]),
        (create_body("1999", ineligible, stranger), [COHORT_INVALID]),
        (create_body(CLOSED, ineligible, stranger), [COHORT_CLOSED, SCHOOL_INELIGIBLE, PARTNER_NOT_LINKED]),
        (create_body(OPEN, school, stranger), [PARTNER_NOT_LINKED, DUPLICATE]),
    ]
    for body, expected in cases:
        expect(client.post("/api/v3/partnerships", body), 422, errors(*expected))
    for raw in ("{", "", "[]", '{"type":"partnership","attributes":{}}', '{"data":[]}', '{"data":{"attributes":"x"}}',
                # No attribute the operation takes is left (the real service's `expect(attributes: [...])`).
                '{"data":{"type":"partnership"}}', '{"data":{"type":"partnership","attributes":null}}',
                '{"data":{"type":"partnership","attributes":{}}}', '{"data":{"attributes":{"urn":"1","other":2}}}',
                '{"data":{"attributes":{"cohort":["2025"],"school_id":{}}}}'):
        expect(client.post("/api/v3/partnerships", raw=raw), 400, BAD_JSON)
    assert len(expect(client.get("/api/v3/partnerships"), 200)["data"]) == 1


def test_a_cohort_sent_as_a_number_must_be_an_exact_year(world):
    """The cohort is the attribute a JSON number may fill (2025 as well as "2025"). A number out of
    range, or with a fraction, is refused as an invalid cohort (422 in this API's format), never
    read as some year."""
    _, client, dp1, _, _ = world.partner_setup()
    school = world.school()["id"]
    for number in ("1e300", "1e20", "9223372036854775808", "9223372036854775807", "9007199254740993", "2025.5", "-2025"):
        raw = json.dumps(create_body("COHORT", school, dp1)).replace('"COHORT"', number)
        expect(client.post("/api/v3/partnerships", raw=raw), 422, errors(COHORT_INVALID))
    assert expect(client.get("/api/v3/partnerships"), 200)["data"] == []
    created = expect(client.post("/api/v3/partnerships", create_body(int(OPEN), school, dp1)), 200)["data"]
    assert created["attributes"]["cohort"] == OPEN


def test_update_error_rows(world):
    provider_id, client, dp1, dp2, stranger = world.partner_setup(years=(OPEN,))
    school = world.school()["id"]
    created = partnership(client, OPEN, school, dp1)
    path = f"/api/v3/partnerships/{created['id']}"
    for method in ("put", "patch"):
        call = getattr(client, method)
        expect(call(path, update_body(dp1)), 422, errors(PARTNER_ALREADY))
        expect(call(path, update_body(unknown_id())), 422, errors(PARTNER_INVALID))
        expect(call(path, update_body(stranger)), 422, errors(PARTNER_NOT_LINKED))
        expect(call(path, {"data": {"type": "partnership", "attributes": {"delivery_partner_id": None}}}), 422,
               errors(MISSING["delivery_partner_id"]))
        for attributes in ({}, None, {"cohort": OPEN, "school_id": school}, {"delivery_partner_id": [dp2]}):
            expect(call(path, {"data": {"type": "partnership", "attributes": attributes}}), 400, BAD_JSON)
        expect(call(path, {"data": {"type": "partnership"}}), 400, BAD_JSON)
        expect(call(path, raw="{nope"), 400, BAD_JSON)
        expect(call(path, {"attributes": {"delivery_partner_id": dp2}}), 400, BAD_JSON)
        expect(call(f"/api/v3/partnerships/{unknown_id()}", update_body(dp2)), 404, NOT_FOUND)
    # An already partnered delivery partner (a staff extra partnership) counts too.
    world.admin("partnerships", {"lead_provider_id": provider_id, "school_id": school, "delivery_partner_id": dp2, "cohort": OPEN})
    expect(client.put(path, update_body(dp2)), 422, errors(PARTNER_ALREADY))
    expect(client.get(f"/api/v3/partnerships/{unknown_id()}"), 404, NOT_FOUND)
    expect(client.get("/api/v3/partnerships/not-a-uuid"), 404, NOT_FOUND)


def test_upper_case_ids_find_the_same_records_in_paths_filters_and_bodies(world):
    """The real service's ids are PostgreSQL uuids: compared whatever their case. Answers show the stored id."""
    provider_id, client, dp1, dp2, _ = world.partner_setup()
    school = world.school()["id"]
    created = expect(client.post("/api/v3/partnerships", create_body(OPEN, school.upper(), dp1.upper())), 200)["data"]
    assert created["attributes"]["school_id"] == school and created["attributes"]["delivery_partner_id"] == dp1
    # The command line reads a lead provider's id as the API does: a token made with it upper-cased
    # is that provider's.
    same = Client(world.stack, create_token(world.stack, lead_provider=provider_id.upper()))
    assert ids(expect(same.get("/api/v3/partnerships"), 200)) == [created["id"]]
    shown = expect(client.get(f"/api/v3/partnerships/{created['id'].upper()}"), 200)
    assert shown["data"] == created
    listed = expect(client.get(f"/api/v3/partnerships?filter[delivery_partner_id]={dp2.upper()},{dp1.upper()}"), 200)
    assert ids(listed) == [created["id"]]
    updated = expect(client.patch(f"/api/v3/partnerships/{created['id'].upper()}", update_body(dp2.upper())), 200)["data"]
    assert updated["id"] == created["id"] and updated["attributes"]["delivery_partner_id"] == dp2
    assert expect(client.get(f"/api/v3/schools/{school.upper()}?filter[cohort]={OPEN}"), 200)["data"]["id"] == school
    assert expect(client.get(f"/api/v3/delivery-partners/{dp1.upper()}"), 200)["data"]["id"] == dp1
    assert expect(world.staff.patch(f"/api/v3/admin/schools/{school.upper()}", {"name": "Renamed"}), 200)["data"]["id"] == school


def test_the_type_is_the_documented_one(world):
    """The official document requires `data.type` "partnership" (the real controller does not read
    it): a missing or other type is the 400, and nothing is written."""
    _, client, dp1, dp2, _ = world.partner_setup()
    school = world.school()["id"]
    for wrong in (None, "school", "", "Partnership"):
        body = create_body(OPEN, school, dp1)
        if wrong is None:
            del body["data"]["type"]
        else:
            body["data"]["type"] = wrong
        expect(client.post("/api/v3/partnerships", body), 400, BAD_JSON)
    assert expect(client.get("/api/v3/partnerships"), 200)["data"] == []
    created = expect(client.post("/api/v3/partnerships", create_body(OPEN, school, dp1)), 200)["data"]
    expect(client.put(f"/api/v3/partnerships/{created['id']}",
                      {"data": {"type": "school", "attributes": {"delivery_partner_id": dp2}}}), 400, BAD_JSON)
    assert expect(client.get(f"/api/v3/partnerships/{created['id']}"), 200)["data"]["attributes"]["delivery_partner_id"] == dp1


def test_concurrent_duplicate_creates_exactly_one_succeeds(world):
    _, client, dp1, dp2, _ = world.partner_setup()
    for round_number in range(3):
        school = world.school()["id"]
        responses = together([lambda dp=dp: client.post("/api/v3/partnerships", create_body(OPEN, school, dp))
                              for dp in [dp1, dp2] * 4])
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [422] * 7, statuses
        for response in responses:
            if response.status_code == 422:
                assert response.json() == errors(DUPLICATE)
        listed = expect(client.get("/api/v3/partnerships"), 200)["data"]
        assert [p["attributes"]["school_id"] for p in listed].count(school) == 1


# --- tenant isolation ---------------------------------------------------------------------------

def test_another_providers_records_are_not_found_on_every_endpoint(world):
    a_id, a, dp1, dp2, _ = world.partner_setup()
    only_a = world.delivery_partner("Only A")
    world.admin("delivery-partner-links", {"lead_provider_id": a_id, "delivery_partner_id": only_a, "cohort": OPEN})
    b_id, b = world.provider({dp1: [OPEN]}, name="Provider B")
    school = world.school()["id"]
    theirs = partnership(a, OPEN, school, dp1)
    path = f"/api/v3/partnerships/{theirs['id']}"
    expect(b.get(path), 404, NOT_FOUND)
    expect(b.put(path, update_body(dp1)), 404, NOT_FOUND)
    expect(b.patch(path, update_body(dp1)), 404, NOT_FOUND)
    expect(b.put(path, raw="{"), 404, NOT_FOUND)  # existence is not revealed by validation either
    assert theirs["id"] not in ids(expect(b.get("/api/v3/partnerships"), 200))
    expect(b.get(f"/api/v3/delivery-partners/{only_a}"), 404, NOT_FOUND)
    assert only_a not in ids(expect(b.get("/api/v3/delivery-partners"), 200))
    # Another provider may partner the same school in the same cohort; each sees only its own.
    mine = partnership(b, OPEN, school, dp1)
    assert ids(expect(b.get("/api/v3/partnerships"), 200)) == [mine["id"]]
    assert mine["id"] not in ids(expect(a.get("/api/v3/partnerships"), 200))
    assert expect(a.get(path), 200)["data"]["attributes"]["delivery_partner_id"] == dp1


# --- pagination, filters, sort ------------------------------------------------------------------

def test_partnership_filters_sort_and_pages(world):
    _, client, dp1, dp2, _ = world.partner_setup()
    made = []
    for cohort, dp in [(OPEN, dp1), (OPEN_NEXT, dp2), (OPEN, dp2), (OPEN_NEXT, dp1), (OPEN, dp1)]:
        made.append(partnership(client, cohort, world.school()["id"], dp))
    every = [p["id"] for p in made]

    def listed(query=""):
        return ids(expect(client.get(f"/api/v3/partnerships{query}"), 200))

    assert listed() == every  # default: created_at ascending
    assert listed("?filter[cohort]=2025") == [every[0], every[2], every[4]]
    assert listed("?filter[cohort]=2025,2026") == every
    assert listed("?filter[cohort]=abc,2026,1.5") == [every[1], every[3]]
    assert listed("?filter[cohort]=abc") == []
    assert listed(f"?filter[delivery_partner_id]={dp2}") == [every[1], every[2]]
    assert listed(f"?filter[delivery_partner_id]={dp1},{dp2}&filter[cohort]=2026") == [every[1], every[3]]
    assert listed(f"?filter[delivery_partner_id]={unknown_id()}") == []

    assert listed("?sort=-created_at") == every[::-1]
    assert listed("?sort=nonsense") == every
    assert listed("?sort=nonsense,-created_at") == every[::-1]
    since = a_second_later_than_now()
    assert listed(f"?filter[updated_since]={since}") == []
    expect(client.put(f"/api/v3/partnerships/{every[1]}", update_body(dp1)), 200)
    assert listed(f"?filter[updated_since]={since}") == [every[1]]
    assert listed(f"?filter[updated_since]={since.replace('Z', '%2B00:00')}") == [every[1]]
    assert listed("?filter[updated_since]=2000-01-01T00:00:00Z") == every
    assert listed("?sort=updated_at") == every[:1] + every[2:] + every[1:2]
    assert listed("?sort=-updated_at,created_at")[0] == every[1]

    assert listed("?page[per_page]=2") == every[:2]
    assert listed("?page[per_page]=2&page[page]=3") == every[4:]
    assert listed("?page[per_page]=2&page[page]=4") == []
    assert listed("?page[page]=1&page[per_page]=100000") == every
    for bad in ("not-a-date", "2025-13-45", "yesterday"):
        expect(client.get(f"/api/v3/partnerships?filter[updated_since]={bad}"), 400, BAD_SINCE)


@pytest.mark.parametrize("path", ["/api/v3/partnerships", "/api/v3/schools?filter[cohort]=2025", "/api/v3/delivery-partners"])
@pytest.mark.parametrize("value", ["0", "-1", "0.8", "abc", ""])
def test_invalid_page_values_are_refused(world, path, value):
    _, client, _, _, _ = world.partner_setup()
    sep = "&" if "?" in path else "?"
    for name in ("page", "per_page"):
        expect(client.get(f"{path}{sep}page[{name}]={value}"), 400, BAD_PAGE)


def test_page_size_default_clamp_and_past_the_end_with_3005_imported_schools(world, tmp_path):
    # The import command with a JSON file: 3005 schools eligible only in the BIG cohort.
    rows = [{"urn": str(900_000 + i), "name": f"Bulk School {i}", "funding_eligible_cohorts": [BIG]} for i in range(3005)]
    (tmp_path / "schools.json").write_text(json.dumps(rows))
    assert cli(world.stack, "lead-provider", "import", "--kind", "schools", str(tmp_path / "schools.json")).strip() == "imported 3005 schools"
    _, client, _, _, _ = world.partner_setup()

    def urns(query):
        data = expect(client.get(f"/api/v3/schools?filter[cohort]={BIG}{query}"), 200)["data"]
        return [s["attributes"]["urn"] for s in data]

    everything = [str(900_000 + i) for i in range(3005)]
    assert urns("") == everything[:100]
    assert urns("&page[page]=2") == everything[100:200]
    assert urns("&page[per_page]=5000") == everything[:3000]
    assert urns("&page[per_page]=3000&page[page]=2") == everything[3000:]
    assert urns("&page[per_page]=99999999999999999999999&page[page]=2") == everything[3000:]
    assert urns("&page[page]=31") == everything[3000:]
    assert urns("&page[page]=32") == []
    assert urns("&page[page]=99999999999999999999") == []
    assert urns(f"&filter[urn]={everything[1234]}") == [everything[1234]]
    assert urns("&filter[urn]=nope") == []


def test_import_command_with_a_csv_file_and_all_or_nothing(world, tmp_path):
    csv = ("urn,name,funding_eligible_cohorts,induction_tutor_name,induction_tutor_email\r\n"
           '777001,"Quoted, School",2025;2026,Mary Tutor,mary@csv.example\r\n'
           "777002,Plain School,2026,null,\n")
    (tmp_path / "schools.csv").write_text(csv)
    assert cli(world.stack, "lead-provider", "import", "--kind", "schools", str(tmp_path / "schools.csv")).strip() == "imported 2 schools"
    provider_id, client, dp1, _, _ = world.partner_setup()
    listed = expect(client.get("/api/v3/schools?filter[cohort]=2026&filter[urn]=777001"), 200)["data"]
    assert [s["attributes"]["name"] for s in listed] == ["Quoted, School"]
    assert len(expect(client.get("/api/v3/schools?filter[cohort]=2025&filter[urn]=777001"), 200)["data"]) == 1
    assert expect(client.get("/api/v3/schools?filter[cohort]=2025&filter[urn]=777002"), 200)["data"] == []
    # The tutor (shown once the provider has a partnership there) came through the CSV.
    partnership(client, OPEN_NEXT, listed[0]["id"], dp1)
    assert school_view(client, listed[0]["id"], OPEN_NEXT)["induction_tutor_email"] == "mary@csv.example"
    # A bad row (a URN already taken) imports nothing.
    (tmp_path / "bad.csv").write_text("urn,name\n777003,Fine\n777001,Taken\n")
    result = run_cli(world.stack, "lead-provider", "import", "--kind", "schools", str(tmp_path / "bad.csv"))
    assert result.returncode != 0 and "row 2" in result.stderr + result.stdout
    assert expect(client.get("/api/v3/schools?filter[cohort]=2026&filter[urn]=777003"), 200)["data"] == []


# --- schools ------------------------------------------------------------------------------------

def test_schools_require_a_cohort_filter_and_unknown_cohorts(world):
    _, client, _, _, _ = world.partner_setup()
    school = world.school()["id"]
    for path in ("/api/v3/schools", f"/api/v3/schools/{school}", "/api/v3/schools?filter[urn]=1"):
        expect(client.get(path), 400, NO_COHORT_FILTER)
    # Sent but blank: there, a cohort that does not exist (its required-filter check asks for the key only).
    expect(client.get("/api/v3/schools?filter[cohort]="), 200, {"data": []})
    expect(client.get(f"/api/v3/schools/{school}?filter[cohort]="), 404, NOT_FOUND)
    expect(client.get("/api/v3/schools?filter[cohort]=1999"), 200, {"data": []})
    expect(client.get(f"/api/v3/schools/{school}?filter[cohort]=1999"), 404, NOT_FOUND)
    expect(client.get(f"/api/v3/schools/{unknown_id()}?filter[cohort]={OPEN}"), 404, NOT_FOUND)
    expect(client.get("/api/v3/schools?filter[cohort]=2025&filter[updated_since]=nope"), 400, BAD_SINCE)


def test_schools_listed_are_eligible_ones_plus_ineligible_ones_in_partnership(world):
    _, client, dp1, _, _ = world.partner_setup()
    eligible = world.school(eligible=(OPEN,))
    partnered = world.school(eligible=(OPEN,))
    never = world.school(eligible=(OPEN_NEXT,))
    partnership(client, OPEN, partnered["id"], dp1)
    expect(world.staff.patch(f"/api/v3/admin/schools/{partnered['id']}", {"funding_eligible_cohorts": [OPEN_NEXT]}), 200)
    for school, listed in ((eligible, True), (partnered, True), (never, False)):
        urn = school["attributes"]["urn"]
        found = expect(client.get(f"/api/v3/schools?filter[cohort]={OPEN}&filter[urn]={urn}"), 200)["data"]
        assert [s["id"] for s in found] == ([school["id"]] if listed else [])
        expect(client.get(f"/api/v3/schools/{school['id']}?filter[cohort]={OPEN}"), 200 if listed else 404)
    shown = expect(client.get(f"/api/v3/schools/{eligible['id']}?filter[cohort]={OPEN}"), 200)["data"]
    assert shown["type"] == "school" and list(shown["attributes"]) == SCHOOL_ATTRIBUTES
    assert shown["attributes"]["cohort"] == OPEN and shown["attributes"]["name"] == eligible["attributes"]["name"]


def test_computed_school_fields_per_caller(world):
    a_id, a, dp1, _, _ = world.partner_setup()
    b_id, b = world.provider({dp1: [OPEN]}, name="Provider B")
    school = world.school(tutor="Tess Tutor")["id"]
    fresh = school_view(a, school)
    assert {k: fresh[k] for k in SCHOOL_ATTRIBUTES[3:8]} == {
        "in_partnership": False, "induction_programme_choice": "not_yet_known", "expression_of_interest": False,
        "induction_tutor_name": None, "induction_tutor_email": None}

    school_led = world.participant(school, OPEN, None, "school_led")
    assert school_view(a, school)["induction_programme_choice"] == "school_led"
    expect(a.post("/api/v3/partnerships", create_body(OPEN, school, dp1)), 422, errors(SCHOOL_LED))

    a_participant = world.participant(school, OPEN, a_id, "provider_led")
    seen_by_a, seen_by_b = school_view(a, school), school_view(b, school)
    assert seen_by_a["induction_programme_choice"] == seen_by_b["induction_programme_choice"] == "provider_led"
    assert (seen_by_a["expression_of_interest"], seen_by_b["expression_of_interest"]) == (True, False)
    assert (seen_by_a["induction_tutor_name"], seen_by_a["induction_tutor_email"]) == ("Tess Tutor", "tess.tutor@school.example")
    assert (seen_by_b["induction_tutor_name"], seen_by_b["induction_tutor_email"]) == (None, None)
    assert school_view(a, school, OPEN_NEXT)["expression_of_interest"] is False  # per cohort

    # B partners the school: in_partnership for everyone, interest for B, and it stays after B's participants leave.
    mine = partnership(b, OPEN, school, dp1)
    assert school_view(a, school)["in_partnership"] is True
    assert school_view(b, school)["expression_of_interest"] is True
    b_participant = world.participant(school, OPEN, b_id)
    world.set_participant(b_participant, status="left")
    assert school_view(b, school)["expression_of_interest"] is True
    assert school_view(b, school)["induction_tutor_name"] == "Tess Tutor"

    # A's interest comes only from its participant: it goes when they leave.
    world.set_participant(a_participant, status="left")
    assert school_view(a, school)["expression_of_interest"] is False
    assert school_view(a, school)["induction_programme_choice"] == "school_led"
    world.set_participant(school_led, status="left")
    assert school_view(a, school)["induction_programme_choice"] == "not_yet_known"
    assert mine["attributes"]["participants_currently_training"] == 0


def test_participants_currently_training_counts_the_callers_active_participants(world):
    a_id, a, dp1, _, _ = world.partner_setup()
    b_id, _ = world.provider({dp1: [OPEN]}, name="Provider B")
    school = world.school()["id"]
    created = partnership(a, OPEN, school, dp1)
    path = f"/api/v3/partnerships/{created['id']}"

    def training():
        return expect(a.get(path), 200)["data"]["attributes"]["participants_currently_training"]

    first = world.participant(school, OPEN, a_id)
    world.participant(school, OPEN, a_id)
    world.participant(school, OPEN, b_id)             # another provider's
    world.participant(school, OPEN_NEXT, a_id)        # another cohort
    world.participant(school, OPEN, None, "school_led")
    assert training() == 2
    world.set_participant(first, status="left")
    assert training() == 1
    assert expect(a.get("/api/v3/partnerships"), 200)["data"][-1]["attributes"]["participants_currently_training"] == 1


def test_school_updated_at_moves_with_computed_fields_so_updated_since_sees_it(world):
    a_id, a, dp1, _, _ = world.partner_setup()
    b_id, b = world.provider({dp1: [OPEN]}, name="Provider B")
    school = world.school()
    urn = school["attributes"]["urn"]

    def seen_since(client, since):
        query = f"/api/v3/schools?filter[cohort]={OPEN}&filter[urn]={urn}&filter[updated_since]={since}"
        return ids(expect(client.get(query), 200)) == [school["id"]]

    since = a_second_later_than_now()
    assert not seen_since(a, since) and not seen_since(b, since)
    world.participant(school["id"], OPEN, b_id)  # programme choice for all; B's interest
    assert seen_since(a, since) and seen_since(b, since)
    assert school_view(a, school["id"])["updated_at"] >= since

    since = a_second_later_than_now()
    world.participant(school["id"], OPEN, a_id)  # only A's interest changes
    assert seen_since(a, since) and not seen_since(b, since)

    since = a_second_later_than_now()
    world.participant(school["id"], OPEN, a_id)  # nothing visible changes
    assert not seen_since(a, since) and not seen_since(b, since)

    partnership(a, OPEN, school["id"], dp1)      # in_partnership for all
    assert seen_since(a, since) and seen_since(b, since)
    assert not seen_since(a, "2999-01-01T00:00:00Z")
    # sort by the moved updated_at: this school is the most recently updated for B.
    newest = expect(b.get(f"/api/v3/schools?filter[cohort]={OPEN}&sort=-updated_at&page[per_page]=1"), 200)["data"]
    assert ids({"data": newest}) == [school["id"]]


# --- delivery partners --------------------------------------------------------------------------

def test_delivery_partners_only_linked_ones_with_their_years(world):
    dp1, dp2, other = world.delivery_partner("Alpha Hub"), world.delivery_partner("Beta Hub"), world.delivery_partner("Gamma Hub")
    provider_id, client = world.provider({dp1: [OPEN_NEXT, OPEN], dp2: [OPEN_NEXT]})
    listed = expect(client.get("/api/v3/delivery-partners"), 200)
    assert list(listed) == ["data"] and ids(listed) == [dp1, dp2]
    first = listed["data"][0]
    assert first["type"] == "delivery-partner" and list(first["attributes"]) == ["name", "created_at", "updated_at", "cohort"]
    assert first["attributes"]["name"] == "Alpha Hub" and first["attributes"]["cohort"] == [OPEN, OPEN_NEXT]
    assert TIMESTAMP.match(first["attributes"]["created_at"])
    assert expect(client.get(f"/api/v3/delivery-partners/{dp1}"), 200) == {"data": first}
    assert ids(expect(client.get(f"/api/v3/delivery-partners?filter[cohort]={OPEN}"), 200)) == [dp1]
    assert ids(expect(client.get(f"/api/v3/delivery-partners?filter[cohort]={OPEN},{OPEN_NEXT}"), 200)) == [dp1, dp2]
    assert ids(expect(client.get(f"/api/v3/delivery-partners?filter[cohort]={CLOSED}"), 200)) == []
    assert ids(expect(client.get("/api/v3/delivery-partners?sort=-created_at"), 200)) == [dp2, dp1]
    assert ids(expect(client.get("/api/v3/delivery-partners?page[per_page]=1&page[page]=2"), 200)) == [dp2]
    assert ids(expect(client.get("/api/v3/delivery-partners?page[per_page]=1&page[page]=3"), 200)) == []
    expect(client.get(f"/api/v3/delivery-partners/{other}"), 404, NOT_FOUND)
    expect(client.get(f"/api/v3/delivery-partners/{unknown_id()}"), 404, NOT_FOUND)


# --- staff extras -------------------------------------------------------------------------------

def test_staff_can_add_extra_partnerships_that_the_public_endpoint_refuses(world):
    provider_id, client, dp1, dp2, _ = world.partner_setup()
    school = world.school()["id"]
    first = partnership(client, OPEN, school, dp1)
    expect(client.post("/api/v3/partnerships", create_body(OPEN, school, dp2)), 422, errors(DUPLICATE))
    extra = world.admin("partnerships", {"lead_provider_id": provider_id, "school_id": school, "delivery_partner_id": dp2, "cohort": OPEN})
    assert extra["attributes"]["delivery_partner_id"] == dp2
    assert ids(expect(client.get("/api/v3/partnerships"), 200)) == [first["id"], extra["id"]]
    # The staff endpoint keeps the other rules.
    expect(world.staff.post("/api/v3/admin/partnerships", {"lead_provider_id": provider_id, "school_id": school,
                                                           "delivery_partner_id": dp2, "cohort": CLOSED}), 422, errors(COHORT_CLOSED))


def test_rollover_copies_the_most_recent_partnership_into_a_new_cohort(world):
    provider_id, client, dp1, dp2, _ = world.partner_setup()
    school = world.school()["id"]
    partnership(client, OPEN, school, dp2)
    rolled = world.admin("partnerships/rollover", {"school_id": school, "cohort": OPEN_NEXT})
    assert rolled["attributes"]["cohort"] == OPEN_NEXT and rolled["attributes"]["delivery_partner_id"] == dp2
    assert expect(client.get(f"/api/v3/partnerships/{rolled['id']}"), 200)["data"] == rolled
    assert school_view(client, school, OPEN_NEXT)["in_partnership"] is True
    expect(world.staff.post("/api/v3/admin/partnerships/rollover", {"school_id": school, "cohort": OPEN_NEXT}), 422, errors(DUPLICATE))
    expect(world.staff.post("/api/v3/admin/partnerships/rollover", {"school_id": world.school()["id"], "cohort": OPEN_NEXT}), 422,
           errors(("school_id", "This school has no partnership to roll over.")))
    expect(world.staff.post("/api/v3/admin/partnerships/rollover", {"school_id": school, "cohort": "1999"}), 422, errors(COHORT_INVALID))


def test_participants_registered_after_a_partnership_default_to_its_provider_and_delivery_partner(world):
    provider_id, client, dp1, _, _ = world.partner_setup()
    school, unpartnered = world.school()["id"], world.school()["id"]
    created = partnership(client, OPEN, school, dp1)
    joined = world.admin("participants", {"school_id": school, "cohort": OPEN, "training_programme": "provider_led"})["attributes"]
    assert (joined["lead_provider_id"], joined["delivery_partner_id"]) == (provider_id, dp1)
    assert expect(client.get(f"/api/v3/partnerships/{created['id']}"), 200)["data"]["attributes"]["participants_currently_training"] == 1
    school_led = world.admin("participants", {"school_id": school, "cohort": OPEN, "training_programme": "school_led"})["attributes"]
    assert (school_led["lead_provider_id"], school_led["delivery_partner_id"]) == (None, None)
    elsewhere = world.admin("participants", {"school_id": unpartnered, "cohort": OPEN, "training_programme": "provider_led"})["attributes"]
    assert (elsewhere["lead_provider_id"], elsewhere["delivery_partner_id"]) == (None, None)
    other_cohort = world.admin("participants", {"school_id": school, "cohort": OPEN_NEXT, "training_programme": "provider_led"})["attributes"]
    assert other_cohort["lead_provider_id"] is None


def test_token_list_records_last_use_but_never_the_token(world):
    provider_id, _ = world.provider()
    label = f"usage-{unknown_id()}"
    token = create_token(world.stack, label, lead_provider=provider_id)

    def listed():
        line, = [line for line in cli(world.stack, "token", "list").splitlines() if label in line]
        return line

    assert "last used never" in listed() and token not in listed()
    expect(Client(world.stack, token).get("/api/v3/partnerships"), 200, {"data": []})
    assert re.search(r"last used \d{4}-\d\d-\d\dT", listed())


# --- conditional requests and idempotency (shared by every family; see ConditionalRequest, Idempotency)

def test_a_partnership_carries_an_etag_and_honours_if_none_match_and_if_match(world):
    _, client, dp1, dp2, _ = world.partner_setup()
    data = partnership(client, OPEN, world.school()["id"], dp1)
    path = f"/api/v3/partnerships/{data['id']}"
    shown = expect(client.get(path), 200)
    tag = client.get(path).headers["ETag"]
    assert re.match(r'^"[0-9a-f]{32}"$', tag)
    cached = client.get(path, headers={"If-None-Match": tag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == tag
    updated = expect(client.put(path, update_body(dp2), headers={"If-Match": tag}), 200)
    assert updated["data"]["attributes"]["delivery_partner_id"] == dp2
    stale = client.put(path, update_body(dp1), headers={"If-Match": tag})
    assert stale.status_code == 412, stale.text
    assert stale.json()["errors"][0]["title"] == "Precondition failed"
    assert expect(client.get(path), 200)["data"]["attributes"]["delivery_partner_id"] == dp2, "a refused update changes nothing"
    assert shown != expect(client.get(path, headers={"If-None-Match": tag}), 200), "a changed resource is sent again"


def test_repeated_gets_get_the_kept_answer_until_anything_changes(world):
    """Workers keep the answer to a GET of one partnership or school and send it again to the same
    request while the store is unchanged (docs/operations.md, "Kept answers"). Six GETs in a row
    reach both workers at least twice. What would show a wrong kept answer: another caller's, one
    older than a write by another worker or another process, or one outliving its token."""
    provider_id, client, dp1, dp2, _ = world.partner_setup()
    _, other_provider, *_ = world.partner_setup()
    school = world.school()
    data = partnership(client, OPEN, school["id"], dp1)
    path = f"/api/v3/partnerships/{data['id']}"
    label = f"kept-{unknown_id()}"
    kept = Client(world.stack, create_token(world.stack, label, lead_provider=provider_id))
    answers = [kept.get(path) for _ in range(6)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1 and len({a.headers["ETag"] for a in answers}) == 1
    assert len({a.headers["X-Request-Id"] for a in answers}) == 6, "each answer carries its own request id"
    tag = answers[0].headers["ETag"]
    for _ in range(4):
        head = kept.call("HEAD", path)
        assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == tag
        assert head.headers["Content-Length"] == str(len(answers[0].content))
        not_modified = kept.get(path, headers={"If-None-Match": tag})
        assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified.headers["ETag"] == tag
        expect(other_provider.get(path), 404, NOT_FOUND)
        expect(Client(world.stack).get(path), 401, UNAUTHORIZED)
        expect(Client(world.stack, kept.token, word="Token").get(path), 401, UNAUTHORIZED)
    school_path = f"/api/v3/schools/{school['id']}?filter[cohort]={OPEN}"
    assert len({kept.get(school_path).content for _ in range(4)}) == 1
    assert kept.get(f"/api/v3/schools/{school['id']}?filter[cohort]={OPEN_NEXT}").content != kept.get(school_path).content

    # A change through the API (by whichever worker) is seen by the next GET, on every worker.
    expect(client.put(path, update_body(dp2)), 200)
    assert {kept.get(path).json()["data"]["attributes"]["delivery_partner_id"] for _ in range(6)} == {dp2}
    # So is a change to another record the answer shows (the school's induction tutor).
    expect(world.staff.patch(f"/api/v3/admin/schools/{school['id']}", {"induction_tutor_name": "Ada Lovelace"}), 200)
    assert {kept.get(path).json()["data"]["attributes"]["induction_tutor_name"] for _ in range(6)} == {"Ada Lovelace"}
    # And a token revoked from the command line stops working at once, kept answers or not.
    cli(world.stack, "token", "revoke", token_id(world.stack, label))
    for _ in range(6):
        expect(kept.get(path), 401, UNAUTHORIZED)


def test_an_idempotency_key_makes_a_retried_create_happen_once(world):
    _, client, dp1, _, _ = world.partner_setup()
    school = world.school()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v3/partnerships", create_body(OPEN, school["id"], dp1), headers=key)
    retried = client.post("/api/v3/partnerships", create_body(OPEN, school["id"], dp1), headers=key)
    assert first.status_code == retried.status_code == 200, retried.text
    assert retried.json() == first.json() and retried.headers.get("Idempotent-Replayed") == "true"
    assert [p["id"] for p in expect(client.get("/api/v3/partnerships"), 200)["data"]] == [first.json()["data"]["id"]]
    other = client.post("/api/v3/partnerships", create_body(OPEN, world.school()["id"], dp1), headers=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["errors"][0]["detail"]
