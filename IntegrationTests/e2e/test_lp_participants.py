"""Lead Provider API v3 participants end to end, through nginx over HTTPS and the worker pool: staff
registration and schedules, GET /participants (filters, sort, paging, tenant isolation), the withdraw,
defer, resume and change-schedule actions with the real service's rules and texts (exact), transfers
and unfunded mentors derived from the registered records, and the import command. Reference data is
seeded through the staff endpoints; dates are far from today so the date-based rules hold whenever
the suite runs."""
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from helpers import Client, cli, create_token, expect, run_cli, unknown_id
from lead_provider_errors import BAD_JSON, NOT_FOUND, UNAUTHORIZED, errors

ENROLMENT_ATTRIBUTES = [
    "training_record_id", "email", "mentor_id", "school_urn", "participant_type", "working_pattern", "cohort", "training_status",
    "participant_status", "eligible_for_funding", "pupil_premium_uplift", "sparsity_uplift", "schedule_identifier",
    "delivery_partner_id", "withdrawal", "deferral", "created_at", "induction_end_date", "most_recent_induction_period_end_date",
    "overall_induction_start_date", "mentor_funding_end_date", "cohort_changed_after_payments_frozen",
    "mentor_ineligible_for_funding_reason"]
NOT_RECOGNISED = "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again."
REASON_NOT_RECOGNISED = "The entered '#/reason' is not recognised for the given participant. Check details and try again."
INVALID_SCHEDULE = "The property '#/schedule_identifier' must be present and correspond to a valid schedule."


def today():
    return datetime.now(timezone.utc).date().isoformat()


def body(kind, **attributes):
    return {"data": {"type": f"participant-{kind}", "attributes": attributes}}


class World:
    """Cohorts 2024-2026, providers A and B each linked with a delivery partner, schools, A's
    partnerships at schools 0 and 1 and B's at school 2 in 2025."""

    def __init__(self, stack):
        self.stack = stack
        self.staff = Client(stack, create_token(stack, staff="e2e staff"))
        for year in ("2024", "2025", "2026"):
            self.admin("cohorts", {"year": year, "registration_opens_at": "2020-06-01T00:00:00Z", "registration_closes_at": None})
        self.providers, self.partners, self.clients = [], [], []
        for name in ("Provider A", "Provider B"):
            provider = self.admin("lead-providers", {"name": name})["id"]
            partner = self.admin("delivery-partners", {"name": f"Hub of {name}"})["id"]
            for year in ("2024", "2025", "2026"):
                self.admin("delivery-partner-links", {"lead_provider_id": provider, "delivery_partner_id": partner, "cohort": year})
            self.providers.append(provider)
            self.partners.append(partner)
            self.clients.append(Client(stack, create_token(stack, lead_provider=provider)))
        self.schools = [self.admin("schools", {"urn": str(700_001 + i), "name": f"School {i}",
                                               "funding_eligible_cohorts": ["2024", "2025", "2026"]})["id"] for i in range(4)]
        for school, p in ((0, 0), (1, 0), (2, 1)):
            attributes = {"cohort": "2025", "school_id": self.schools[school], "delivery_partner_id": self.partners[p]}
            expect(self.clients[p].post("/api/v3/partnerships", {"data": {"type": "partnership", "attributes": attributes}}), 200)
        self.a, self.b = self.clients
        self.names = 0

    def admin(self, path, payload, status=201):
        return expect(self.staff.post(f"/api/v3/admin/{path}", payload), status)["data"]

    def register(self, **fields):
        """A training record through the staff endpoint (an ECT with A at school 0 in 2025 unless told)."""
        self.names += 1
        record = {"full_name": f"Teacher {self.names}", "trn": str(2_000_000 + self.names), "email": f"t{self.names}@example.org",
                  "school_id": self.schools[0], "cohort": "2025", "lead_provider_id": self.providers[0],
                  "training_programme": "provider_led", "started_on": "2025-09-01"}
        record.update(fields)
        return self.admin("participants", {k: v for k, v in record.items() if v is not ...})

    def ect(self, **fields):
        """A new teacher's ECT training; the teacher's participant id."""
        return self.register(**fields)["attributes"]["teacher_id"]


@pytest.fixture(scope="module")
def world(api_stack):
    return World(api_stack)


def enrolments(response_body):
    return response_body["data"]["attributes"]["ecf_enrolments"]


def ids(client, query=""):
    return [item["id"] for item in expect(client.get(f"/api/v3/participants{query}"), 200)["data"]]


def test_new_cohorts_get_the_real_schedules_and_staff_replace_milestones(world):
    september = expect(world.staff.get("/api/v3/admin/schedules/2024/ecf-standard-september"), 200)["data"]
    assert september["type"] == "schedule"
    assert september["attributes"]["milestones"][0] == {"declaration_type": "started", "start_date": "2024-06-01",
                                                        "milestone_date": "2024-12-31"}
    extended = expect(world.staff.get("/api/v3/admin/schedules/2025/ecf-extended-april"), 200)["data"]["attributes"]["milestones"]
    assert [m["declaration_type"] for m in extended][-1] == "extended-3" and {m["start_date"] for m in extended} == {"2026-04-01"}
    path = "/api/v3/admin/schedules/2026/ecf-reduced-april"
    replaced = expect(world.staff.put(path, {"milestones": [
        {"declaration_type": "completed", "start_date": "2028-01-01", "milestone_date": None},
        {"declaration_type": "started", "start_date": "2027-04-01", "milestone_date": "2027-07-31"}]}), 200)["data"]["attributes"]
    assert [m["declaration_type"] for m in replaced["milestones"]] == ["started", "completed"]
    expect(world.staff.put(path, {"milestones": [{"declaration_type": "started", "start_date": "2026-05-01", "milestone_date": "2026-04-01"},
                                                 {"declaration_type": "started", "start_date": "2026-07-01"}]}), 422,
           errors(("milestones[0].milestone_date", "Milestone date must be after the start date"),
                  ("milestones[0].start_date", "The start date must be on or after the 1 June 2026"),
                  ("milestones[1].declaration_type", "Can be used once per schedule")))
    expect(world.staff.put("/api/v3/admin/schedules/2026/ecf-slow-june", {"milestones": []}), 422,
           errors(("identifier", "Choose an identifier from the list")))
    expect(world.staff.put("/api/v3/admin/schedules/1999/ecf-standard-april", {"milestones": []}), 404)
    expect(world.a.get("/api/v3/admin/schedules/2024/ecf-standard-september"), 403)


def test_staff_register_training_records_for_new_and_existing_teachers(world):
    ect = world.register(started_on="2025-11-03", working_pattern="part_time", eligible_for_funding=True)
    assert ect["type"] == "training-record"
    attributes = ect["attributes"]
    assert attributes["participant_type"] == "ect" and attributes["schedule_identifier"] == "ecf-standard-january"
    assert attributes["delivery_partner_id"] == world.partners[0] and attributes["status"] == "active"
    teacher = attributes["teacher_id"]
    mentor = world.register(teacher_id=teacher.upper(), full_name=..., trn=..., email=..., participant_type="mentor",
                            school_id=world.schools[2], lead_provider_id=None, started_on="2026-04-20")["attributes"]
    assert (mentor["teacher_id"], mentor["lead_provider_id"], mentor["delivery_partner_id"]) == (teacher, world.providers[1], world.partners[1])
    assert mentor["schedule_identifier"] == "ecf-standard-april"
    bare = world.admin("participants", {"school_id": world.schools[0], "cohort": "2025", "training_programme": "provider_led"})
    assert bare["attributes"]["teacher_id"] is None and bare["attributes"]["lead_provider_id"] == world.providers[0]
    assert bare["attributes"]["participant_type"] is None and bare["attributes"]["schedule_identifier"] is None
    # null for a field with a default keeps the default.
    defaulted = world.register(participant_type=None, schedule_identifier=None, training_status=None, sparsity_uplift=None)["attributes"]
    assert (defaulted["participant_type"], defaulted["schedule_identifier"], defaulted["training_status"], defaulted["sparsity_uplift"]) == \
        ("ect", "ecf-standard-september", "active", False)
    base = {"school_id": world.schools[0], "cohort": "2025", "training_programme": "provider_led", "started_on": "2025-09-01"}
    expect(world.staff.post("/api/v3/admin/participants", {**base, "full_name": "X", "status": "left"}), 422,
           errors(("finished_on", "A school reporting a participant left gives the date.")))
    expect(world.staff.post("/api/v3/admin/participants", {**base, "full_name": "X", "participant_type": "mentor", "mentor_id": teacher}), 422,
           errors(("mentor_id", "Only an ECT has a mentor.")))
    expect(world.staff.post("/api/v3/admin/participants", {**base, "teacher_id": unknown_id()}), 422,
           errors(("teacher_id", "'#/teacher_id' does not exist.")))
    expect(world.staff.patch(f"/api/v3/admin/participants/{ect['id']}", {"cohort": "2026"}), 422,
           errors(("cohort", "'#/cohort' cannot change: register another training record.")))
    changed = expect(world.staff.patch(f"/api/v3/admin/participants/{ect['id'].upper()}", {"finished_on": "2099-07-31"}), 200)
    assert changed["data"]["attributes"]["status"] == "leaving"


def test_a_provider_sees_only_its_own_training_and_others_get_404(world):
    teacher = world.ect(mentor_id=None)
    world.register(teacher_id=teacher, full_name=..., participant_type="mentor", school_id=world.schools[2], lead_provider_id=world.providers[1])
    shown = expect(world.a.get(f"/api/v3/participants/{teacher.upper()}"), 200)
    assert shown["data"]["id"] == teacher and shown["data"]["type"] == "participant"
    assert list(shown["data"]["attributes"]) == ["full_name", "teacher_reference_number", "ecf_enrolments", "participant_id_changes", "updated_at"]
    (mine,) = enrolments(shown)
    assert list(mine) == ENROLMENT_ATTRIBUTES
    assert (mine["participant_type"], mine["school_urn"], mine["cohort"], mine["training_status"], mine["participant_status"]) == \
        ("ect", "700001", "2025", "active", "active")
    assert mine["delivery_partner_id"] == world.partners[0] and mine["withdrawal"] is None
    (theirs,) = enrolments(expect(world.b.get(f"/api/v3/participants/{teacher}"), 200))
    assert theirs["participant_type"] == "mentor" and theirs["school_urn"] == "700003" and theirs["training_record_id"] != mine["training_record_id"]
    only_b = world.ect(school_id=world.schools[2], lead_provider_id=world.providers[1])
    expect(world.a.get(f"/api/v3/participants/{only_b}"), 404, NOT_FOUND)
    expect(world.a.get(f"/api/v3/participants/{unknown_id()}"), 404, NOT_FOUND)
    assert only_b not in ids(world.a, "?page[per_page]=3000") and teacher in ids(world.a, "?page[per_page]=3000")
    expect(world.a.put(f"/api/v3/participants/{only_b}/withdraw", body("withdraw", reason="other", course_identifier="ecf-induction")), 404, NOT_FOUND)
    expect(Client(world.stack).get("/api/v3/participants"), 401, UNAUTHORIZED)
    expect(world.staff.get("/api/v3/participants"), 403)


def test_the_list_filters_sorts_and_pages(world):
    # A provider of its own, so that the list holds exactly these.
    provider = world.admin("lead-providers", {"name": "Provider C"})["id"]
    client = Client(world.stack, create_token(world.stack, lead_provider=provider))
    school = world.schools[3]
    # Its trainings show once a partnership holds them: C partners school 3 in both cohorts.
    for year in ("2024", "2025"):
        world.admin("delivery-partner-links", {"lead_provider_id": provider, "delivery_partner_id": world.partners[0], "cohort": year})
        attributes = {"cohort": year, "school_id": school, "delivery_partner_id": world.partners[0]}
        expect(client.post("/api/v3/partnerships", {"data": {"type": "partnership", "attributes": attributes}}), 200)
    first = world.ect(school_id=school, lead_provider_id=provider)
    second = world.ect(school_id=school, lead_provider_id=provider, cohort="2024", started_on="2024-09-01")
    third = world.ect(school_id=school, lead_provider_id=provider, training_status="withdrawn",
                      withdrawal={"reason": "moved-school", "date": "2025-10-01T09:00:00Z"})
    assert ids(client) == [first, second, third]
    assert ids(client, "?sort=-created_at") == [third, second, first]
    assert ids(client, "?filter[cohort]=2024") == [second]
    assert ids(client, "?filter[cohort]=2024,2025") == [first, second, third]
    assert ids(client, "?filter[cohort]=x") == []
    assert ids(client, "?filter[training_status]=withdrawn") == [third]
    assert ids(client, "?filter[training_status]=active") == [first, second]
    assert ids(client, "?filter[training_status]=gone") == []
    assert ids(client, f"?filter[from_participant_id]={unknown_id()}") == []
    assert ids(client, "?page[per_page]=2&page[page]=2") == [third]
    assert ids(client, "?page[per_page]=2&page[page]=3") == []
    (withdrawn,) = enrolments(expect(client.get(f"/api/v3/participants/{third}"), 200))
    assert withdrawn["withdrawal"] == {"reason": "moved-school", "date": "2025-10-01T09:00:00Z"}
    assert withdrawn["participant_status"] == "left"
    expect(client.get("/api/v3/participants?filter[updated_since]=yesterday"), 400,
           errors(("Bad request", "The filter '#/updated_since' must be a valid ISO 8601 date")))
    expect(client.get("/api/v3/participants?page[per_page]=0"), 400)
    time.sleep(1.1)
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(client, f"?filter[updated_since]={since}") == []
    expect(client.put(f"/api/v3/participants/{first}/defer", body("defer", reason="bereavement", course_identifier="ecf-induction")), 200)
    assert ids(client, f"?filter[updated_since]={since}") == [first]
    assert ids(client, "?sort=-updated_at")[0] == first


def test_withdraw_and_defer_follow_the_real_rules(world):
    teacher = world.ect()
    path = f"/api/v3/participants/{teacher}"
    for wrong in (body("defer", reason="other", course_identifier="ecf-induction"), {"data": {"attributes": {"reason": "other"}}},
                  body("withdraw"), body("withdraw", unknown="x"), {"data": {"type": "participant-withdraw", "attributes": []}}, {}):
        expect(world.a.put(f"{path}/withdraw", wrong), 400, BAD_JSON)
    expect(world.a.put(f"{path}/withdraw", body("withdraw", reason="", course_identifier="ecf-other")), 422,
           errors(("course_identifier", "Enter a '#/course_identifier'."), ("reason", "Enter a '#/reason'.")))
    expect(world.a.put(f"{path}/withdraw", body("withdraw", reason="bored", course_identifier="ecf-mentor")), 422,
           errors(("course_identifier", NOT_RECOGNISED), ("reason", REASON_NOT_RECOGNISED)))
    expect(world.a.put(f"{path}/withdraw", body("withdraw", reason="mentor-no-longer-being-mentor", course_identifier="ecf-induction")), 422,
           errors(("reason", "You cannot withdraw an ECT for this reason. The ECT is not a mentor.")))
    expect(world.a.put(f"{path}/defer", body("defer", reason="moved-school", course_identifier="ecf-induction")), 422,
           errors(("reason", REASON_NOT_RECOGNISED)))
    before = expect(world.a.get(path), 200)["data"]["attributes"]["updated_at"]
    time.sleep(1.1)
    deferred = expect(world.a.put(f"/api/v3/participants/{teacher.upper()}/defer", body("defer", reason="parental-leave", course_identifier="ecf-induction")), 200)
    (shown,) = enrolments(deferred)
    assert (shown["training_status"], shown["participant_status"], shown["deferral"]["reason"]) == ("deferred", "left", "parental-leave")
    assert shown["deferral"]["date"][:10] == today() and deferred["data"]["attributes"]["updated_at"] > before
    expect(world.a.put(f"{path}/defer", body("defer", reason="other", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "The '#/participant_id' is already deferred.")))
    expect(world.a.put(f"{path}/resume", body("resume", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "You cannot resume a participant on the same day they were withdrawn or deferred. Resume them tomorrow or later.")))
    withdrawn = expect(world.a.put(f"{path}/withdraw", body("withdraw", reason="switched-to-school-led", course_identifier="ecf-induction")), 200)
    (shown,) = enrolments(withdrawn)
    assert (shown["training_status"], shown["withdrawal"]["reason"], shown["deferral"]) == ("withdrawn", "switched-to-school-led", None)
    for kind, reason in (("withdraw", "other"), ("defer", "other")):
        expect(world.a.put(f"{path}/{kind}", body(kind, reason=reason, course_identifier="ecf-induction")), 422,
               errors(("participant_id", "The '#/participant_id' is already withdrawn.")))
    later = world.ect(started_on="2099-09-01")
    expect(world.a.put(f"/api/v3/participants/{later}/withdraw", body("withdraw", reason="other", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "You cannot withdraw #/participant_id. This is because they have not been training with you for at least one day.")))
    expect(world.a.put(f"/api/v3/participants/{later}/defer", body("defer", reason="other", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "You cannot defer #/participant_id. This is because they have not been training with you for at least one day.")))
    started_today = world.ect(started_on=today())
    expect(world.a.put(f"/api/v3/participants/{started_today}/withdraw", body("withdraw", reason="other", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "You cannot defer or withdraw this participant today. You need to try again tomorrow as the "
                                     "training was recently changed for this participant.")))
    mentor = world.ect(participant_type="mentor")
    (shown,) = enrolments(expect(world.a.put(f"/api/v3/participants/{mentor}/withdraw",
                                             body("withdraw", reason="mentor-no-longer-being-mentor", course_identifier="ecf-mentor")), 200))
    assert shown["withdrawal"]["reason"] == "mentor-no-longer-being-mentor"


def test_resume_follows_the_real_rules(world):
    course = body("resume", course_identifier="ecf-induction")
    active = world.ect()
    expect(world.a.put(f"/api/v3/participants/{active}/resume", course), 422,
           errors(("participant_id", "The '#/participant_id' is already active.")))
    deferral = {"reason": "long-term-sickness", "date": "2025-12-01T00:00:00Z"}
    deferred = world.ect(training_status="deferred", deferral=deferral)
    (shown,) = enrolments(expect(world.a.put(f"/api/v3/participants/{deferred}/resume", course), 200))
    assert (shown["training_status"], shown["deferral"], shown["participant_status"]) == ("active", None, "active")
    gone = world.ect(training_status="deferred", deferral=deferral, finished_on="2026-01-31")
    expect(world.a.put(f"/api/v3/participants/{gone}/resume", course), 422,
           errors(("participant_id", "The participant is no longer at the school. Please contact the induction tutor to resolve.")))
    moved = world.ect(training_status="withdrawn", withdrawal={"reason": "changed-lead-provider", "date": "2025-12-01T00:00:00Z"})
    world.register(teacher_id=moved, full_name=..., lead_provider_id=world.providers[1], started_on="2025-12-02")
    expect(world.a.put(f"/api/v3/participants/{moved}/resume", course), 422,
           errors(("participant_id", "This participant cannot be resumed because they are already active with another provider.")))


def test_change_schedule_follows_the_real_rules(world):
    teacher = world.ect()
    path = f"/api/v3/participants/{teacher}/change-schedule"

    def change(**attributes):
        return world.a.put(path, body("change-schedule", **{"course_identifier": "ecf-induction", **attributes}))

    # No course: no training record, so no cohort to find the schedule in either (as there).
    expect(world.a.put(path, body("change-schedule", schedule_identifier="ecf-standard-april")), 422,
           errors(("course_identifier", "Enter a '#/course_identifier'."), ("schedule_identifier", INVALID_SCHEDULE)))
    expect(change(cohort="2025"), 422, errors(("schedule_identifier", INVALID_SCHEDULE)))
    expect(change(schedule_identifier="ecf-fast"), 422, errors(("schedule_identifier", "Enter a valid schedule identifier.")))
    expect(change(schedule_identifier="ecf-standard-september"), 422,
           errors(("schedule_identifier", "Selected schedule is already on the profile")))
    expect(change(schedule_identifier="ecf-replacement-january"), 422,
           errors(("schedule_identifier", "Selected schedule is not valid for the course_identifier")))
    expect(change(schedule_identifier="ecf-standard-april", cohort="2026"), 422,
           errors(("cohort", "You cannot change a participant to this contract_period as you do not have a partnership with the "
                             "school for the contract_period. Contact the DfE for assistance.")))
    (shown,) = enrolments(expect(change(schedule_identifier="ecf-extended-september"), 200))
    assert (shown["schedule_identifier"], shown["cohort"]) == ("ecf-extended-september", "2025")
    expect(world.a.post("/api/v3/partnerships", {"data": {"type": "partnership", "attributes": {
        "cohort": "2026", "school_id": world.schools[0], "delivery_partner_id": world.partners[0]}}}), 200)
    (shown,) = enrolments(expect(change(schedule_identifier="ecf-standard-january", cohort="2026"), 200))
    assert (shown["schedule_identifier"], shown["cohort"], shown["delivery_partner_id"]) == ("ecf-standard-january", "2026", world.partners[0])
    mentor = world.ect(participant_type="mentor")
    expect(world.a.put(f"/api/v3/participants/{mentor}/change-schedule",
                       body("change-schedule", schedule_identifier="ecf-reduced-january", course_identifier="ecf-mentor")), 422,
           errors(("schedule_identifier", "Mentors cannot be placed on a reduced schedule. Assign them to a different schedule.")))
    left = world.ect(finished_on="2026-01-31")
    expect(world.a.put(f"/api/v3/participants/{left}/change-schedule",
                       body("change-schedule", schedule_identifier="ecf-standard-april", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "You cannot change this participant's schedule. This is because the participant has a 'left' "
                                     "participant_status, so they are not training with you currently.")))
    withdrawn = world.ect(training_status="withdrawn", withdrawal={"reason": "other", "date": "2099-01-01T00:00:00Z"})
    expect(world.a.put(f"/api/v3/participants/{withdrawn}/change-schedule",
                       body("change-schedule", schedule_identifier="ecf-standard-april", course_identifier="ecf-induction")), 422,
           errors(("participant_id", "Cannot perform actions on a withdrawn participant")))


def test_transfers_are_derived_from_moves_between_schools(world):
    mover = world.ect(finished_on="2025-12-31")
    world.register(teacher_id=mover, full_name=..., school_id=world.schools[2], lead_provider_id=None, started_on="2026-01-05")
    stayer = world.ect(finished_on="2025-12-31")
    world.register(teacher_id=stayer, full_name=..., school_id=world.schools[1], started_on="2099-01-05")
    leaver = world.ect(finished_on="2099-12-31")

    def transfers(client):
        found = expect(client.get("/api/v3/participants/transfers?page[per_page]=3000"), 200)["data"]
        assert all(item["type"] == "participant-transfer" for item in found)
        return {item["id"]: item["attributes"]["transfers"] for item in found}

    seen = transfers(world.a)
    assert {mover, stayer, leaver} <= set(seen)
    (move,) = seen[mover]
    assert list(move) == ["training_record_id", "transfer_type", "status", "created_at", "leaving", "joining"]
    assert (move["transfer_type"], move["status"]) == ("new_provider", "complete")
    assert move["leaving"] == {"school_urn": "700001", "provider": "Provider A", "date": "2025-12-31"}
    assert move["joining"] == {"school_urn": "700003", "provider": "Provider B", "date": "2026-01-05"}
    assert [(t["transfer_type"], t["status"]) for t in seen[stayer]] == [("new_school", "incomplete")]
    assert [(t["transfer_type"], t["joining"]) for t in seen[leaver]] == [("unknown", None)]
    seen_by_b = transfers(world.b)
    assert mover in seen_by_b and stayer not in seen_by_b and leaver not in seen_by_b
    one = expect(world.b.get(f"/api/v3/participants/{mover.upper()}/transfers"), 200)["data"]
    assert one["id"] == mover and one["attributes"]["transfers"] == seen[mover]
    expect(world.b.get(f"/api/v3/participants/{stayer}/transfers"), 404, NOT_FOUND)
    expect(world.a.get(f"/api/v3/participants/{world.ect()}/transfers"), 404, NOT_FOUND)
    later = (datetime.now(timezone.utc) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert expect(world.a.get(f"/api/v3/participants/transfers?filter[updated_since]={later}"), 200)["data"] == []
    expect(world.a.get("/api/v3/participants/transfers?filter[updated_since]=never"), 400)


def test_unfunded_mentors_are_your_ects_mentors_who_train_elsewhere(world):
    elsewhere = world.register(participant_type="mentor", school_id=world.schools[2], lead_provider_id=world.providers[1],
                               email="mentor.elsewhere@example.org")["attributes"]
    mentor = elsewhere["teacher_id"]
    trained = world.ect(participant_type="mentor")
    world.ect(mentor_id=mentor)
    world.ect(mentor_id=trained)
    listed = expect(world.a.get("/api/v3/unfunded-mentors?page[per_page]=3000"), 200)["data"]
    found = {item["id"]: item for item in listed}
    assert mentor in found and trained not in found
    assert found[mentor]["type"] == "unfunded-mentor"
    attributes = found[mentor]["attributes"]
    assert list(attributes) == ["full_name", "email", "teacher_reference_number", "created_at", "updated_at"]
    assert (attributes["full_name"], attributes["email"], attributes["teacher_reference_number"]) == \
        (elsewhere["full_name"], "mentor.elsewhere@example.org", elsewhere["trn"])
    expect(world.a.get(f"/api/v3/unfunded-mentors/{mentor.upper()}"), 200)
    expect(world.a.get(f"/api/v3/unfunded-mentors/{trained}"), 404, NOT_FOUND)
    expect(world.b.get(f"/api/v3/unfunded-mentors/{mentor}"), 404, NOT_FOUND)
    assert mentor not in {item["id"] for item in expect(world.b.get("/api/v3/unfunded-mentors"), 200)["data"]}


def test_the_import_command_registers_participants_from_csv_and_json_lines(world, tmp_path):
    teacher = unknown_id()
    rows = tmp_path / "participants.csv"
    rows.write_text("teacher_id,full_name,email,school_id,cohort,lead_provider_id,training_programme,participant_type,started_on,eligible_for_funding,sparsity_uplift\n"
                    f"{teacher},Imported Teacher,imported@example.org,{world.schools[0]},2025,{world.providers[0]},provider_led,ect,2025-09-01,true,true\n"
                    f"{teacher},Imported Teacher,,{world.schools[1]},2025,{world.providers[0]},provider_led,mentor,2025-09-01,false,false\n")
    assert "imported 2 participants" in cli(world.stack, "lead-provider", "import", "--kind", "participants", str(rows))
    shown = expect(world.a.get(f"/api/v3/participants/{teacher}"), 200)
    ect, mentor = enrolments(shown)
    assert (ect["participant_type"], ect["eligible_for_funding"], ect["sparsity_uplift"]) == ("ect", True, True)
    assert (mentor["participant_type"], mentor["eligible_for_funding"], mentor["email"]) == ("mentor", False, "imported@example.org")
    lines = tmp_path / "participants.jsonl"
    lines.write_text(json.dumps({"teacher_id": teacher, "school_id": world.schools[0], "cohort": "2024", "training_programme": "provider_led",
                                 "lead_provider_id": world.providers[0], "participant_type": "ect", "started_on": "2024-09-01",
                                 "finished_on": "2025-07-31"}) + "\n\n"
                     + json.dumps({"full_name": "Lined Up", "school_id": world.schools[1], "cohort": "2025", "training_programme": "provider_led",
                                   "lead_provider_id": world.providers[0], "training_status": "deferred",
                                   "deferral": {"reason": "bereavement", "date": "2025-11-01T08:00:00Z"}}) + "\n")
    assert "imported 2 participants" in cli(world.stack, "lead-provider", "import", "--kind", "participants", str(lines))
    lined_up = [p for p in expect(world.a.get("/api/v3/participants?filter[training_status]=deferred&page[per_page]=3000"), 200)["data"]
                if p["attributes"]["full_name"] == "Lined Up"]
    assert len(lined_up) == 1 and lined_up[0]["attributes"]["ecf_enrolments"][0]["deferral"] == {"reason": "bereavement", "date": "2025-11-01T08:00:00Z"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1]\n")
    assert "line 1 is not an object" in run_cli(world.stack, "lead-provider", "import", "--kind", "participants", str(bad)).stderr
