"""Lead Provider API v3 declarations and statements end to end, through nginx over HTTPS and the
worker pool: statements (a provider's own output-fee ones; staff create them, load a cohort's
calendar, change them and move them to payment, also from the command line), declarations with
every error row of the real service (exact texts), the official request shape, filters, paging,
tenant isolation and what a provider sees of a participant who moved to it, and the states from
submission to payment, void and clawback. Participants are registered through the staff endpoint;
milestone windows are in the past and statement cut-offs far ahead, so the date rules hold
whenever the suite runs."""
import re

import pytest

from helpers import Client, cli, create_token, expect, run_cli, unknown_id
from lead_provider_errors import BAD_JSON, NOT_FOUND, UNAUTHORIZED, errors

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DECLARATION_ATTRIBUTES = [
    "participant_id", "declaration_type", "declaration_date", "course_identifier", "state", "updated_at", "created_at",
    "delivery_partner_id", "statement_id", "clawback_statement_id", "ineligible_for_funding_reason", "mentor_id",
    "uplift_paid", "evidence_held", "lead_provider_name"]
STATEMENT_ATTRIBUTES = ["month", "year", "cohort", "cut_off_date", "payment_date", "paid", "created_at", "updated_at"]

PARTICIPANT_UNKNOWN = ("participant_id", "Your update cannot be made as the '#/participant_id' is not recognised. "
                                         "Check participant details and try again.")
COURSE_MISSING = ("course_identifier", "Enter a '#/course_identifier'.")
COURSE_UNKNOWN = ("course_identifier", "The entered '#/course_identifier' is not recognised for the given participant. "
                                       "Check details and try again.")
DUPLICATE = ("declaration_type", "A declaration has already been submitted that will be, or has been, paid for this event.")
FUTURE = ("declaration_date", "The '#/declaration_date' value cannot be a future date. Check the date and try again.")
BEFORE = ("declaration_date", "Declaration date must be on or after the milestone start date for the same declaration type.")
AFTER = ("declaration_date", "Declaration date must be on or before the milestone date for the same declaration type.")
FORMAT = ("declaration_date", "Enter a valid RCF3339 '#/declaration_date'.")
MENTOR_TYPES = ("declaration_type", "You cannot send retained or extended declarations for participants who began their mentor "
                                    "training after June 2025. Resubmit this declaration with either a started or completed declaration.")
EVIDENCE_MISSING = ("evidence_held", "Enter a '#/evidence_held' value for this participant.")
EVIDENCE_INVALID = ("evidence_held", "Enter an available '#/evidence_held' type for this participant.")
NO_MILESTONE = ("declaration_type", "The property '#/declaration_type' does not exist for this schedule.")
SEQUENCE = ("declaration_date", "This '#/declaration_date' is invalid. Check that it is in sequence with existing declaration "
                                "dates for this participant.")
CONTRACT_ENDED = "You cannot submit or void declarations for the {} cohort. The funding contract for this cohort has ended. " \
                 "Get in touch if you need to discuss this with us"


def declaration(participant_id, declaration_type="started", date="2025-10-01T10:00:00Z", course="ecf-induction",
                evidence="training-event-attended", **extra):
    attributes = {"participant_id": participant_id, "declaration_type": declaration_type, "declaration_date": date,
                  "course_identifier": course, **extra}
    if evidence is not None:
        attributes["evidence_held"] = evidence
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


class World:
    """Cohorts 2024-2026; providers A and B, each with a delivery partner and a partnership at its
    school in each cohort (a training shows only once a partnership holds it); A's output statements in January and April 2090 (2025) and January
    2090 (2024), B's in January 2090 (2025), and a service-fee one of A's."""

    def __init__(self, stack):
        self.stack = stack
        self.staff = Client(stack, create_token(stack, staff="e2e staff"))
        for year in ("2024", "2025", "2026"):
            self.admin("cohorts", {"year": year, "registration_opens_at": "2020-06-01T00:00:00Z", "registration_closes_at": None})
        self.providers, self.partners, self.schools, self.clients = [], [], [], []
        for n, name in enumerate(("Provider A", "Provider B")):
            provider = self.admin("lead-providers", {"name": name})["id"]
            partner = self.admin("delivery-partners", {"name": f"Hub of {name}"})["id"]
            school = self.admin("schools", {"urn": str(800_001 + n), "name": f"School {n}",
                                            "funding_eligible_cohorts": ["2024", "2025", "2026"]})["id"]
            client = Client(stack, create_token(stack, lead_provider=provider))
            for year in ("2024", "2025", "2026"):
                self.admin("delivery-partner-links", {"lead_provider_id": provider, "delivery_partner_id": partner, "cohort": year})
            for year in ("2024", "2025", "2026"):
                attributes = {"cohort": year, "school_id": school, "delivery_partner_id": partner}
                expect(client.post("/api/v3/partnerships", {"data": {"type": "partnership", "attributes": attributes}}), 200)
            self.providers.append(provider)
            self.partners.append(partner)
            self.schools.append(school)
            self.clients.append(Client(stack, create_token(stack, lead_provider=provider)))
        self.a, self.b = self.clients
        self.statements = {
            "a2025": self.statement(0, "2025", "January", "2090", "2089-12-31", "2090-01-25"),
            "a2025-april": self.statement(0, "2025", "April", "2090", "2090-03-31", "2090-04-25"),
            "a2024": self.statement(0, "2024", "January", "2090", "2089-12-31", "2090-01-25"),
            "b2025": self.statement(1, "2025", "January", "2090", "2089-12-31", "2090-01-25"),
            "a-service": self.statement(0, "2025", "February", "2090", "2090-01-31", "2090-02-25"),
        }
        # A schedule with closed windows and no retained-4 milestone.
        expect(self.staff.put("/api/v3/admin/schedules/2025/ecf-reduced-september", {"milestones": [
            {"declaration_type": "started", "start_date": "2025-09-01", "milestone_date": "2025-12-31"},
            {"declaration_type": "retained-1", "start_date": "2026-01-01", "milestone_date": "2026-03-31"},
            {"declaration_type": "completed", "start_date": "2026-04-01", "milestone_date": None}]}), 200)
        self.names = 0

    def admin(self, path, payload, status=201):
        return expect(self.staff.post(f"/api/v3/admin/{path}", payload), status)["data"]

    def statement(self, provider, cohort, month, year, cut_off, payment, **extra):
        return self.admin("statements", {"lead_provider_id": self.providers[provider], "cohort": cohort, "month": month,
                                         "year": year, "cut_off_date": cut_off, "payment_date": payment, **extra})["id"]

    def participant(self, provider=0, cohort="2025", **fields):
        """A new teacher's training with a provider (an eligible ECT on the 2025 standard September schedule
        unless told); the teacher's participant id."""
        self.names += 1
        record = {"full_name": f"Teacher {self.names}", "trn": str(3_000_000 + self.names), "email": f"d{self.names}@example.org",
                  "school_id": self.schools[provider], "cohort": cohort, "lead_provider_id": self.providers[provider],
                  "training_programme": "provider_led", "started_on": f"{cohort}-09-01",
                  "schedule_identifier": "ecf-standard-september", "eligible_for_funding": True}
        record.update(fields)
        return self.admin("participants", record)["attributes"]["teacher_id"]

    def pay(self, statement, status):
        return expect(self.staff.patch(f"/api/v3/admin/statements/{statement}", {"status": status}), 200)["data"]["attributes"]


@pytest.fixture(scope="module")
def world(api_stack):
    return World(api_stack)


def declare(client, body, status=200, expected=None):
    return expect(client.post("/api/v3/participant-declarations", body), status, expected)


def ids(response_body):
    return [item["id"] for item in response_body["data"]]


def test_providers_read_their_own_output_statements(world):
    a, b, s = world.a, world.b, world.statements
    # In payment date order: the two January statements (in the order they were made), then April.
    assert ids(expect(a.get("/api/v3/statements"), 200)) == [s["a2025"], s["a2024"], s["a2025-april"]]
    statement = expect(a.get(f"/api/v3/statements/{s['a2025'].upper()}"), 200)["data"]
    assert statement["type"] == "statement" and list(statement["attributes"]) == STATEMENT_ATTRIBUTES
    assert {k: statement["attributes"][k] for k in STATEMENT_ATTRIBUTES[:6]} == {
        "month": "January", "year": "2090", "cohort": "2025", "cut_off_date": "2089-12-31", "payment_date": "2090-01-25",
        "paid": False}
    assert TIMESTAMP.match(statement["attributes"]["created_at"]) and TIMESTAMP.match(statement["attributes"]["updated_at"])
    assert ids(expect(a.get("/api/v3/statements?filter[cohort]=2024"), 200)) == [s["a2024"]]
    assert ids(expect(a.get("/api/v3/statements?filter[cohort]=2024,2025&page[per_page]=1&page[page]=3"), 200)) == [s["a2025-april"]]
    assert ids(expect(a.get("/api/v3/statements?filter[updated_since]=2999-01-01T00:00:00Z"), 200)) == []
    assert ids(expect(b.get("/api/v3/statements"), 200)) == [s["b2025"]]
    expect(a.get(f"/api/v3/statements/{s['b2025']}"), 404, NOT_FOUND)
    expect(a.get(f"/api/v3/statements/{s['a-service']}"), 404, NOT_FOUND)
    expect(a.get(f"/api/v3/statements/{unknown_id()}"), 404, NOT_FOUND)
    expect(a.get("/api/v3/statements?page[page]=0"), 400)
    expect(a.get("/api/v3/statements?filter[updated_since]=soon"), 400)
    expect(Client(world.stack).get("/api/v3/statements"), 401, UNAUTHORIZED)
    expect(world.staff.get("/api/v3/statements"), 403)


def test_staff_create_statements_and_calendars(world):
    staff, provider = world.staff, world.providers[1]
    first = {"lead_provider_id": provider, "cohort": "2025", "month": "January", "year": "2090",
             "cut_off_date": "2089-12-31", "payment_date": "2090-01-25"}
    expect(staff.post("/api/v3/admin/statements", first), 422, errors(
        ("month", "A statement for January 2090 already exists for this lead provider and cohort.")))
    expect(staff.post("/api/v3/admin/statements", {**first, "month": "May", "payment_date": "2089-12-01"}), 422, errors(
        ("payment_date", "The '#/payment_date' must be later than the '#/cut_off_date'.")))
    expect(staff.post("/api/v3/admin/statements", {**first, "month": "Mayo", "cut_off_date": "2089-02-30"}), 422, errors(
        ("month", "'#/month' has an invalid value."), ("cut_off_date", "'#/cut_off_date' has an invalid value.")))
    expect(staff.post("/api/v3/admin/statements", {**first, "lead_provider_id": unknown_id(), "month": "May"}), 422, errors(
        ("lead_provider_id", "'#/lead_provider_id' does not exist.")))
    expect(staff.post("/api/v3/admin/statements", raw="{"), 400)
    expect(world.a.post("/api/v3/admin/statements", first), 403)
    calendar = expect(staff.post("/api/v3/admin/statements/calendar", {"lead_provider_id": provider, "cohort": "2026"}), 201)["data"]
    assert len(calendar) == 34
    assert [calendar[0]["attributes"][k] for k in ("month", "year", "cut_off_date", "payment_date", "output_fee")] == \
        ["November", "2026", "2026-10-31", "2026-11-25", True]
    assert [calendar[-1]["attributes"][k] for k in ("month", "year", "cut_off_date")] == ["August", "2029", "2029-07-31"]
    again = expect(staff.post("/api/v3/admin/statements/calendar", {"lead_provider_id": provider, "cohort": "2026"}), 201)["data"]
    assert ids({"data": again}) == ids({"data": calendar})
    # The provider sees the twelve output-fee ones.
    assert len(expect(world.b.get("/api/v3/statements?filter[cohort]=2026"), 200)["data"]) == 12
    # The command line reads and changes the same statements.
    lines = cli(world.stack, "lead-provider", "statements", "list", "--lead-provider", provider.upper(), "--cohort", "2026")
    assert len(lines.splitlines()) == 34 and lines.splitlines()[0].split("\t")[3] == "November 2026"
    august = calendar[-1]["id"]
    changed = cli(world.stack, "lead-provider", "statements", "change", august, "--payment", "2029-08-26")
    assert changed.split("\t")[5] == "2029-08-26"
    refused = run_cli(world.stack, "lead-provider", "statements", "change", august, "--payment", "2029-07-01")
    assert refused.returncode != 0 and "must be later than" in refused.stderr
    created = cli(world.stack, "lead-provider", "statements", "create", "--lead-provider", provider, "--cohort", "2026",
                  "--month", "November", "--year", "2091", "--cut-off", "2091-10-31", "--payment", "2091-11-25")
    assert created.split("\t")[6:] == ["open", "output\n"]


def test_a_declaration_answers_every_official_attribute(world):
    mentor = world.participant(participant_type="mentor")
    teacher = world.participant(mentor_id=mentor, pupil_premium_uplift=True)
    body = declare(world.a, declaration(teacher.upper(), unknown_attribute="ignored"))
    data = body["data"]
    assert data["type"] == "participant-declaration" and list(data["attributes"]) == DECLARATION_ATTRIBUTES
    attributes = dict(data["attributes"])
    assert TIMESTAMP.match(attributes.pop("created_at")) and TIMESTAMP.match(attributes.pop("updated_at"))
    assert attributes == {
        "participant_id": teacher, "declaration_type": "started", "declaration_date": "2025-10-01T10:00:00Z",
        "course_identifier": "ecf-induction", "state": "eligible", "delivery_partner_id": world.partners[0],
        "statement_id": world.statements["a2025"], "clawback_statement_id": None, "ineligible_for_funding_reason": None,
        "mentor_id": mentor, "uplift_paid": False, "evidence_held": "training-event-attended", "lead_provider_name": "Provider A"}
    assert expect(world.a.get(f"/api/v3/participant-declarations/{data['id'].upper()}"), 200)["data"] == data
    # Another provider: not found, not listed, not voidable.
    expect(world.b.get(f"/api/v3/participant-declarations/{data['id']}"), 404, NOT_FOUND)
    assert data["id"] not in ids(expect(world.b.get("/api/v3/participant-declarations"), 200))
    expect(world.b.put(f"/api/v3/participant-declarations/{data['id']}/void"), 404, NOT_FOUND)
    # A participant who is not eligible for funding: submitted, on no statement.
    unfunded = world.participant(eligible_for_funding=False)
    submitted = declare(world.a, declaration(unfunded))["data"]["attributes"]
    assert (submitted["state"], submitted["statement_id"]) == ("submitted", None)
    expect(Client(world.stack).post("/api/v3/participant-declarations", declaration(teacher)), 401, UNAUTHORIZED)
    expect(world.staff.post("/api/v3/participant-declarations", declaration(teacher)), 403)


def test_the_request_must_have_the_official_shape(world):
    teacher = world.participant()
    attributes = declaration(teacher)["data"]["attributes"]
    for body in [{"data": {"type": "partnership", "attributes": attributes}}, {"data": {"attributes": attributes}},
                 {"data": {"type": "participant-declaration"}}, {"data": {"type": "participant-declaration", "attributes": {}}},
                 {"data": {"type": "participant-declaration", "attributes": {"other": 1}}}, attributes, []]:
        declare(world.a, body, 400, BAD_JSON)
    expect(world.a.post("/api/v3/participant-declarations", raw="{not json"), 400)


def test_every_error_row(world):
    a = world.a
    teacher = world.participant()
    theirs = world.participant(provider=1)
    declare(a, declaration(None), 422, errors(("participant_id", "Enter a '#/participant_id'.")))
    declare(a, declaration(unknown_id()), 422, errors(PARTICIPANT_UNKNOWN))
    declare(a, declaration(theirs), 422, errors(PARTICIPANT_UNKNOWN))
    declare(a, declaration(teacher, course="npq-headship"), 422, errors(COURSE_MISSING))
    declare(a, declaration(teacher, course="ecf-mentor"), 422, errors(COURSE_UNKNOWN))
    declare(a, declaration(teacher, date=None), 422, errors(("declaration_date", "Enter a '#/declaration_date'.")))
    declare(a, declaration(teacher, declaration_type=None), 422, errors(("declaration_type", "Enter a '#/declaration_type'.")))
    declare(a, declaration(teacher, declaration_type="begun"), 422, errors(("declaration_type", "Enter a valid declaration type.")))
    declare(a, declaration(teacher, date="2025-10-01"), 422, errors(FORMAT))
    declare(a, declaration(teacher, date="2999-01-01T00:00:00Z"), 422, errors(FUTURE))
    declare(a, declaration(teacher, evidence=None), 422, errors(EVIDENCE_MISSING))
    declare(a, declaration(teacher, evidence="75-percent-engagement-met"), 422, errors(EVIDENCE_INVALID))
    declare(a, declaration(teacher, "retained-2", evidence="other"), 422, errors(EVIDENCE_INVALID))
    reduced = world.participant(schedule_identifier="ecf-reduced-september")
    declare(a, declaration(reduced, date="2025-08-31T23:59:59Z"), 422, errors(BEFORE))
    declare(a, declaration(reduced, date="2026-01-01T00:00:00Z"), 422, errors(AFTER))
    declare(a, declaration(reduced, "retained-4", date="2026-02-01T00:00:00Z"), 422, errors(NO_MILESTONE))
    mentor = world.participant(participant_type="mentor")
    declare(a, declaration(mentor, "retained-1", course="ecf-mentor"), 422, errors(MENTOR_TYPES))
    withdrawn = world.participant(training_status="withdrawn",
                                  withdrawal={"reason": "moved-school", "date": "2025-09-30T08:00:00Z"})
    declare(a, declaration(withdrawn), 422, errors((
        "participant_id", "This participant withdrew from this course on 2025-09-30T08:00:00Z. "
                          "Enter a '#/declaration_date' that's on or before the withdrawal date.")))
    declare(a, declaration(withdrawn, date="2025-09-29T10:00:00Z"), 200)
    # A's 2026 participants have no statement to be paid in.
    later = world.participant(cohort="2026")
    declare(a, declaration(later, date="2026-07-01T10:00:00Z"), 422, errors(("cohort", CONTRACT_ENDED.format("2026") + ".")))
    # Duplicates, and the order from 2025.
    declare(a, declaration(teacher), 200)
    declare(a, declaration(teacher, date="2025-10-02T10:00:00Z"), 422, errors(DUPLICATE))
    declare(a, declaration(teacher, "completed", "2025-09-01T10:00:00Z", evidence="one-term-induction"), 422, errors(SEQUENCE))
    # Before 2025, a started declaration's evidence is not read at all.
    older = world.participant(cohort="2024")
    started = declare(a, declaration(older, date="2024-10-01T10:00:00Z", evidence="nonsense"))["data"]["attributes"]
    assert started["evidence_held"] is None
    # Several attributes fail at once: listed in the order the real service finds them.
    declare(a, declaration(withdrawn, "retained-1", date="2999-01-01T00:00:00Z"), 422, errors(FUTURE, (
        "participant_id", "This participant withdrew from this course on 2025-09-30T08:00:00Z. "
                          "Enter a '#/declaration_date' that's on or before the withdrawal date.")))


def test_from_submission_to_payment_void_and_clawback(world):
    a, s = world.a, world.statements
    # Statements of their own, so that paying them moves nothing the other tests look at.
    first = world.statement(0, "2024", "April", "2090", "2090-03-31", "2090-04-25")
    expect(world.staff.patch(f"/api/v3/admin/statements/{s['a2024']}", {"cut_off_date": "2090-04-01", "payment_date": "2090-04-26"}), 200)
    teacher = world.participant(cohort="2024", pupil_premium_uplift=True)
    created = declare(a, declaration(teacher, date="2024-10-01T10:00:00Z"))["data"]
    path = f"/api/v3/participant-declarations/{created['id']}"
    assert (created["attributes"]["state"], created["attributes"]["statement_id"]) == ("eligible", first)
    # The next output statement from today, once the first is paid.
    clawback = world.statement(0, "2024", "August", "2090", "2090-02-01", "2090-08-25")

    def attributes():
        return expect(a.get(path), 200)["data"]["attributes"]

    assert world.pay(first, "payable")["status"] == "payable"
    assert attributes()["state"] == "payable"
    paid = world.pay(first, "paid")
    assert (paid["status"], paid["paid"]) == ("paid", True)
    assert (attributes()["state"], attributes()["uplift_paid"]) == ("paid", True)
    assert expect(a.get(f"/api/v3/statements/{first}"), 200)["data"]["attributes"]["paid"] is True
    expect(world.staff.patch(f"/api/v3/admin/statements/{first}", {"payment_date": "2090-04-26"}), 422, errors(
        ("status", "This statement has been paid: it can no longer change.")))
    voided = expect(a.put(f"{path}/void"), 200)["data"]["attributes"]
    assert (voided["state"], voided["statement_id"], voided["clawback_statement_id"]) == ("awaiting-clawback", first, clawback)
    expect(a.put(f"{path}/void"), 422, errors(("participant_declaration_id", "The declaration will or has been refunded")))
    world.pay(clawback, "paid")
    assert attributes()["state"] == "clawed-back"
    expect(world.staff.patch(f"/api/v3/admin/statements/{clawback}", {"status": "open"}), 422)
    # Before payment a void is final; the type may be declared again.
    again = declare(a, declaration(teacher, date="2024-10-02T10:00:00Z"))["data"]
    assert again["attributes"]["statement_id"] == s["a2024"]
    gone = expect(a.put(f"/api/v3/participant-declarations/{again['id'].upper()}/void"), 200)["data"]["attributes"]
    assert (gone["state"], gone["statement_id"]) == ("voided", None)
    expect(a.put(f"/api/v3/participant-declarations/{again['id']}/void"), 422, errors(
        ("participant_declaration_id", "The declaration has already been voided.")))
    expect(a.put(f"/api/v3/participant-declarations/{unknown_id()}/void"), 404, NOT_FOUND)


def test_no_statement_left_to_claw_back_on(world):
    """B's 2024 cohort has one statement: once it is paid, a paid declaration cannot be voided."""
    only = world.statement(1, "2024", "January", "2090", "2089-12-31", "2090-01-25")
    teacher = world.participant(provider=1, cohort="2024")
    created = declare(world.b, declaration(teacher, date="2024-10-01T10:00:00Z"))["data"]
    world.pay(only, "paid")
    expect(world.b.put(f"/api/v3/participant-declarations/{created['id']}/void"), 422, errors(
        ("participant_declaration_id", CONTRACT_ENDED.format("2024"))))


def test_the_daily_step_marks_due_statements_payable(world):
    due = world.statement(1, "2025", "November", "2025", "2025-10-31", "2025-11-25")
    marked = expect(world.staff.post("/api/v3/admin/statements/mark-payable"), 200)["data"]
    assert due in ids({"data": marked}) and all(item["attributes"]["status"] == "payable" for item in marked)
    assert due not in ids(expect(world.staff.post("/api/v3/admin/statements/mark-payable"), 200))


def test_lists_filter_page_and_show_moved_participants(world):
    a, b = world.a, world.b
    first, second = world.participant(), world.participant(cohort="2024")
    made = [declare(a, declaration(first))["data"]["id"],
            declare(a, declaration(second, date="2024-10-01T10:00:00Z"))["data"]["id"],
            declare(a, declaration(first, "retained-1", "2025-11-01T10:00:00Z"))["data"]["id"]]
    query = f"/api/v3/participant-declarations?filter[participant_id]={first.upper()},{second},not-an-id"

    def listed(extra=""):
        return ids(expect(a.get(query + extra), 200))

    assert listed() == made
    assert listed("&filter[cohort]=2024") == [made[1]]
    assert listed("&filter[cohort]=2024,2025") == made
    assert listed("&filter[cohort]=twenty") == []
    assert listed(f"&filter[delivery_partner_id]={world.partners[0].upper()}") == made
    assert listed(f"&filter[delivery_partner_id]={world.partners[1]}") == []
    assert listed("&page[per_page]=2&page[page]=2") == [made[2]]
    updated = expect(a.get(f"/api/v3/participant-declarations/{made[2]}"), 200)["data"]["attributes"]["updated_at"]
    assert made[2] in listed(f"&filter[updated_since]={updated}")
    assert listed("&filter[updated_since]=2999-01-01T00:00:00Z") == []
    expect(a.get(query + "&filter[updated_since]=whenever"), 400, {"errors": [{
        "title": "Bad request", "detail": "The filter '#/updated_since' must be a valid ISO 8601 date"}]})
    expect(a.get(query + "&page[per_page]=0"), 400)
    assert ids(expect(b.get(query), 200)) == []
    # The teacher moves to B: B sees A's billable declarations for the course, but may not void them.
    world.admin("participants", {"teacher_id": first, "school_id": world.schools[1], "cohort": "2025",
                                 "lead_provider_id": world.providers[1], "training_programme": "provider_led",
                                 "started_on": "2026-01-05", "schedule_identifier": "ecf-standard-september"})
    assert ids(expect(b.get(query), 200)) == [made[0], made[2]]
    expect(b.get(f"/api/v3/participant-declarations/{made[0]}"), 200)
    expect(b.put(f"/api/v3/participant-declarations/{made[0]}/void"), 404, NOT_FOUND)
    expect(a.put(f"/api/v3/participant-declarations/{made[0]}/void"), 200)
    assert ids(expect(b.get(query), 200)) == [made[2]]
    # B cannot declare what A already declared for the participant.
    declare(b, declaration(first, "retained-1", "2026-02-01T10:00:00Z"), 422, errors(DUPLICATE))
