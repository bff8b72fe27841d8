"""Contract test against the OFFICIAL Lead Provider API v3 document (contracts/lead-provider-v3-official.yaml,
the real service's own swagger.yaml, copied verbatim), not against the document we generate.

A stack with the Lead Provider demo data answers, as the demo lead provider, every operation of that
document (none is skipped: an operation we do not serve fails):
- the attribute checker: a real page of every list operation and a real record of every operation
  with an id, checked attribute by attribute, recursively (present, JSON type, null only where
  `nullable: true`, value in the `enum`, `uuid`/`date`/`date-time` values that parse); every
  mismatch is reported at once;
- explicit requests with real ids and real bodies (a partnership created and changed, participant
  actions, a declaration), so that the operations with ids reach real records;
- a positive schemathesis pass (valid requests; mostly with real ids and real body values taken from
  the list operations): the status is one the document lists (or one of our deliberate additions,
  added_statuses), the body validates against the documented schema, never a 5xx;
- a negative schemathesis pass (invalid requests): never a 5xx, every answer documented, and an
  invalid body the server can tell from a valid one always refused with a 4xx.

Where our answers deliberately differ from the document, docs/lead-provider-api.md says so
("Conformance with the official document"); test_docs_list_every_added_status keeps the two in step."""
import collections
import copy
import datetime
import random
import re
import time
import uuid
from pathlib import Path

import jsonschema_rs
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.core.parameters import ParameterLocation

from conftest import REPO, Stack
from helpers import lead_provider_demo, refused_by_nginx

CONTRACT = Path(__file__).parent / "contracts" / "lead-provider-v3-official.yaml"
DOCS = REPO / "docs" / "lead-provider-api.md"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Fuzzing cases per operation and pass (the coverage phase adds its own): the whole module stays
# under ~4 minutes on two cores with a debug build.
POSITIVE_EXAMPLES = 50
NEGATIVE_EXAMPLES = 40
MINIMUM_CASES_PER_OPERATION = 5
PAGE = {"page[per_page]": "500"}

cases_run = collections.Counter()
statuses_seen = collections.defaultdict(collections.Counter)
nginx_refusals = []
clock = {}


# MARK: the document, and what we deliberately add to it

def load_document() -> dict:
    return yaml.safe_load(CONTRACT.read_text())


def added_statuses(document) -> dict:
    """(METHOD, path) -> {status: the document's component for its body}: answers the document does
    not list for an operation and that we give on purpose, as the real service does."""
    added = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            statuses = {}
            if method == "get" and "page" in names:
                # An invalid filter[updated_since], page[page] or page[per_page], a filter that is no
                # hash (and, on schools, no filter[cohort]): the real service's 400s, which its
                # document leaves out.
                statuses["400"] = "BadRequestResponse"
            if (method, path) == ("get", "/api/v3/schools/{id}"):
                statuses["400"] = "BadRequestResponse"  # no filter[cohort]: its 400 on show too
            statuses = {status: ref for status, ref in statuses.items() if status not in operation["responses"]}
            if statuses:
                added[(method.upper(), path)] = statuses
    return added


def with_added_statuses(document) -> dict:
    """The document as the test holds our answers to it: the official one plus added_statuses."""
    extended = copy.deepcopy(document)
    for (method, path), statuses in added_statuses(document).items():
        for status, component in statuses.items():
            extended["paths"][path][method.lower()]["responses"][status] = {
                "description": "Deliberate addition (docs/lead-provider-api.md)",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
            }
    return extended


def operations(document):
    """(METHOD, path, operation) of every operation of the document."""
    return [(method.upper(), path, operation) for path, item in document["paths"].items() for method, operation in item.items()]


def list_paths(document):
    """The list operations: GETs without a path parameter."""
    return [path for method, path, _ in operations(document) if method == "GET" and "{" not in path]


# Where the real ids of a path's `{id}` come from: the list operation of the same resource, except
# the transfers of one participant, whose ids are those of participants with transfers.
ID_SOURCES = {"/api/v3/participants/{id}/transfers": "/api/v3/participants/transfers"}


def id_source(path) -> str:
    return ID_SOURCES.get(path, path.split("/{id}")[0])


# MARK: the stack

@pytest.fixture(scope="module")
def lp_stack(own_tmp):
    state = own_tmp / "state"
    state.mkdir(mode=0o755)
    clock["started"] = time.monotonic()
    stack = Stack(state, ["--workers", "2", "--request-timeout", "30"]).start()
    stack.token = lead_provider_demo(stack)["LEAD_PROVIDER_TOKEN"]
    stack.auth = {"Authorization": f"Bearer {stack.token}"}
    yield stack
    stack.stop()


def get(stack, path, query=None):
    return stack.get(path, params=query, headers=stack.auth)


@pytest.fixture(scope="module")
def document():
    return load_document()


@pytest.fixture(scope="module")
def cohorts(lp_stack):
    """The cohorts the demo provider works in (its delivery partners' `cohort`), newest first."""
    response = get(lp_stack, "/api/v3/delivery-partners", PAGE)
    years = {year for partner in response.json().get("data", []) for year in partner["attributes"]["cohort"]} \
        if response.status_code == 200 else set()
    return sorted(years, reverse=True) or ["2026"]


def list_query(path, cohort):
    return dict(PAGE, **({"filter[cohort]": cohort} if path == "/api/v3/schools" else {}))


@pytest.fixture(scope="module")
def listed(lp_stack, document, cohorts):
    """path -> (status, body) of one real page of every list operation, before any test writes.
    Schools: the first cohort that lists any."""
    pages = {}
    for path in list_paths(document):
        for cohort in cohorts:
            response = get(lp_stack, path, list_query(path, cohort))
            body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else None
            pages[path] = (response.status_code, body, cohort)
            if path != "/api/v3/schools" or (body or {}).get("data"):
                break
    return pages


@pytest.fixture(scope="module")
def real(listed):
    """Real values from the list pages: ids per list path, the schools' cohort, body attribute values."""
    ids = {path: [record["id"] for record in (body or {}).get("data", []) if isinstance(record, dict) and "id" in record]
           for path, (status, body, _) in listed.items() if status == 200}
    partners = (listed.get("/api/v3/delivery-partners", (0, None, None))[1] or {}).get("data", [])
    return {
        "ids": ids,
        "school_cohort": listed["/api/v3/schools"][2],
        "body": {
            "school_id": ids.get("/api/v3/schools", []),
            "delivery_partner_id": ids.get("/api/v3/delivery-partners", []),
            "participant_id": ids.get("/api/v3/participants", []),
            "cohort": sorted({year for partner in partners for year in partner["attributes"]["cohort"]}),
        },
    }


# MARK: the attribute checker

JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def parses_as(value: str, format: str) -> bool:
    try:
        if format == "uuid":
            return str(uuid.UUID(value)) == value
        if format == "date":
            return bool(DATE.match(value)) and datetime.date.fromisoformat(value) is not None
        if format in ("date-time", "date_time"):  # the document spells ParticipantIDChange.changed_at's `date_time`
            return bool(DATE_TIME.match(value)) and datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
    except ValueError:
        return False
    return True  # a format the document names without a meaning to check (none today)


def mismatches(value, schema, where, document, unseen):
    """Every way `value` differs from `schema`: each documented property present (whether or not
    the schema says `required`: the real serializers write them all), its JSON type, null only where
    `nullable: true`, enum, formats; recursively through objects and arrays. `unseen` collects the
    nested schemas that only ever held null or [] (whose attributes this page could not check)."""
    schema = resolve_ref(schema, document)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null, but not nullable"]
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    expected = JSON_TYPES.get(kind)
    if expected and (not isinstance(value, expected) or (kind in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}: {type(value).__name__} {value!r:.60}, documented {kind}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in the enum {schema['enum']}")
    if isinstance(value, str) and "format" in schema and not parses_as(value, schema["format"]):
        problems.append(f"{where}: {value!r} is no {schema['format']}")
    if isinstance(value, dict):
        for name, property_schema in schema.get("properties", {}).items():
            if name not in value:
                problems.append(f"{where}.{name}: missing")
                continue
            inner = resolve_ref(property_schema, document)
            if inner.get("type") in ("object", "array") or "properties" in inner:
                nested = re.sub(r"\[\d+\]", "[*]", f"{where}.{name}")
                unseen[nested] = unseen.get(nested, True) and value[name] in (None, [])
            problems += mismatches(value[name], property_schema, f"{where}.{name}", document, unseen)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += mismatches(item, schema["items"], f"{where}[{index}]", document, unseen)
    return problems


def resolve_ref(schema, document):
    while isinstance(schema, dict) and "$ref" in schema:
        target = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def response_schema(operation, status="200"):
    return operation["responses"][status]["content"]["application/json"]["schema"]


def summarised(problems):
    """One line per kind of mismatch: `data[3].attributes.x` and `data[4].attributes.x` are one."""
    counted = collections.Counter(re.sub(r"\[\d+\]", "[*]", problem) for problem in problems)
    return [f"{line}  (x{n})" if n > 1 else line for line, n in counted.items()]


def test_the_attribute_checker_finds_each_kind_of_mismatch(document):
    """On records wrong in every way it checks (and on a right one), without a stack."""
    partnership = {"data": {"id": "d0b4a32e-a272-489e-b30a-cb17131457fc", "type": "partnership", "attributes": {
        "cohort": "2025", "urn": "100001", "school_id": "dd4a1134-7308-4879-942a-c4a70ced400f",
        "delivery_partner_id": "45146ec2-594a-495a-bb02-8b2280a3deaf", "delivery_partner_name": "Hub",
        "induction_tutor_name": None, "induction_tutor_email": None, "participants_currently_training": 0,
        "created_at": "2021-05-31T02:22:32Z", "updated_at": "2021-05-31T02:22:32.000Z"}}}
    schema = {"$ref": "#/components/schemas/PartnershipResponse"}
    assert mismatches(partnership, schema, "", document, {}) == []
    wrong = copy.deepcopy(partnership)
    wrong["data"].update(id="D0B4A32E-A272-489E-B30A-CB17131457FC", type="partnerships")
    attributes = wrong["data"]["attributes"]
    del attributes["urn"]
    attributes.update(cohort=2025, delivery_partner_name=None, participants_currently_training=True,
                      created_at="2021-05-31", updated_at="2021-05-31 02:22:32")
    assert sorted(mismatches(wrong, schema, "", document, {})) == sorted([
        ".data.id: 'D0B4A32E-A272-489E-B30A-CB17131457FC' is no uuid",
        ".data.type: 'partnerships' not in the enum ['partnership']",
        ".data.attributes.cohort: int 2025, documented string",
        ".data.attributes.urn: missing",
        ".data.attributes.delivery_partner_name: null, but not nullable",
        ".data.attributes.participants_currently_training: bool True, documented integer",
        ".data.attributes.created_at: '2021-05-31' is no date-time",
        ".data.attributes.updated_at: '2021-05-31 02:22:32' is no date-time",
    ])
    # Into arrays and nested objects: an enrolment's withdrawal, its enum and its date-time.
    enrolment = {"withdrawal": {"reason": "bored", "date": "yesterday"}, "induction_end_date": "2025-02-30"}
    participant = {"data": [{"attributes": {"ecf_enrolments": [enrolment]}}]}
    unseen = {}
    found = mismatches(participant, {"$ref": "#/components/schemas/ParticipantsResponse"}, "", document, unseen)
    for expected in [".data[0].id: missing", ".data[0].attributes.full_name: missing",
                     ".data[0].attributes.ecf_enrolments[0].withdrawal.reason: 'bored' not in the enum",
                     ".data[0].attributes.ecf_enrolments[0].withdrawal.date: 'yesterday' is no date-time",
                     ".data[0].attributes.ecf_enrolments[0].induction_end_date: '2025-02-30' is no date",
                     ".data[0].attributes.ecf_enrolments[0].deferral: missing"]:
        assert any(line.startswith(expected) for line in found), (expected, found)
    assert unseen[".data[*].attributes.ecf_enrolments[*].withdrawal"] is False


def test_every_documented_attribute_is_present_with_its_type_nullability_enum_and_format(lp_stack, document, listed, real,
                                                                                      capsys):
    """A real page of every list operation and a real record of every GET with an id."""
    problems, unseen = [], {}
    for method, path, operation in operations(document):
        if method != "GET":
            continue
        if "{" not in path:
            status, body, _ = listed[path]
        else:
            ids = real["ids"].get(id_source(path))
            if not ids:
                problems.append(f"GET {path}: no real id to ask for ({id_source(path)} listed none)")
                continue
            query = {"filter[cohort]": real["school_cohort"]} if path == "/api/v3/schools/{id}" else None
            response = get(lp_stack, path.replace("{id}", ids[0]), query)
            status, body = response.status_code, response.json()
        if status != 200:
            problems.append(f"GET {path}: {status} {str(body):.120}")
            continue
        if body.get("data") in ([], None):
            problems.append(f"GET {path}: empty: the demo data must give every resource something to check")
        problems += mismatches(body, response_schema(operation), f"GET {path} ", document, unseen)
    never = sorted(where for where, empty in unseen.items() if empty)
    if never:
        with capsys.disabled():
            print("\n    nested attributes only ever null or [] (their own attributes unchecked): " + ", ".join(never))
    assert not problems, f"{len(problems)} mismatches with the official document:\n" + "\n".join(summarised(problems))


# MARK: explicit requests with real records

@pytest.fixture(scope="module")
def official(document, lp_stack):
    schema = schemathesis.openapi.from_dict(with_added_statuses(document))
    schema.config.update(base_url=lp_stack.url(""))
    return schema


def send(case, stack):
    return case.call(session=stack.session, headers=stack.auth, verify=str(stack.cert))


def explicit(official, stack, method, path, path_parameters=None, query=None, body=None):
    """Sends one case and checks it against the document; the response."""
    operation = official[path][method]
    case = operation.Case(path_parameters=path_parameters or {}, query=query or {},
                          **({} if body is None else {"body": body, "media_type": "application/json"}))
    response = send(case, stack)
    case.validate_response(response, checks=CHECKS)
    statuses_seen[("explicit", method, path)][response.status_code] += 1
    return response


def free_partnership(stack, real):
    """A school, cohort and delivery partner the demo provider may partner: an open cohort (tried
    in turn), a listed school without its partnership there and not school-led, a partner linked
    in that cohort."""
    mine = {(p["attributes"]["school_id"], p["attributes"]["cohort"])
            for p in get(stack, "/api/v3/partnerships", PAGE).json()["data"]}
    partners = get(stack, "/api/v3/delivery-partners", PAGE).json()["data"]
    for cohort in real["body"]["cohort"]:
        linked = [p["id"] for p in partners if cohort in p["attributes"]["cohort"]]
        schools = get(stack, "/api/v3/schools", dict(PAGE, **{"filter[cohort]": cohort})).json()["data"]
        for school in schools:
            if (school["id"], cohort) not in mine and school["attributes"]["induction_programme_choice"] != "school_led":
                yield cohort, school["id"], linked
                break


def test_partnership_writes_with_real_records_conform(official, lp_stack, real):
    """POST and PUT reach the rules with real ids and answer 200 in the documented shape."""
    created = None
    for cohort, school, linked in free_partnership(lp_stack, real):
        body = {"data": {"type": "partnership", "attributes": {"cohort": cohort, "school_id": school, "delivery_partner_id": linked[0]}}}
        response = explicit(official, lp_stack, "POST", "/api/v3/partnerships", body=body)
        if response.status_code == 200:
            created = response.json()["data"], linked
            break
        assert response.status_code == 422, response.text  # a closed or future cohort: try the next
    assert created, "no open cohort took a partnership"
    partnership, linked = created
    assert len(linked) > 1, "the demo provider needs two delivery partners in a cohort"
    body = {"data": {"type": "partnership", "attributes": {"delivery_partner_id": linked[1]}}}
    response = explicit(official, lp_stack, "PUT", "/api/v3/partnerships/{id}", {"id": partnership["id"]}, body=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["delivery_partner_id"] == linked[1]


def course(participant):
    """The course_identifier of the participant's first training."""
    return {"ect": "ecf-induction", "mentor": "ecf-mentor"}.get(
        participant["attributes"]["ecf_enrolments"][0]["participant_type"], "ecf-induction")


def test_participant_and_declaration_writes_with_real_records_conform(official, lp_stack, listed):
    """Each action on a real participant and declaration answers in the documented shape, and finds
    the record (no 404); which of 200 and 422 depends on the record's state."""
    participants = (listed["/api/v3/participants"][1] or {}).get("data") or []
    declarations = (listed["/api/v3/participant-declarations"][1] or {}).get("data") or []
    assert participants and declarations, "no participants or declarations listed"
    participant = participants[0]
    actions = [
        ("/api/v3/participants/{id}/defer", "participant-defer", {"reason": "other"}),
        ("/api/v3/participants/{id}/resume", "participant-resume", {}),
        ("/api/v3/participants/{id}/change-schedule", "participant-change-schedule",
         {"schedule_identifier": "ecf-extended-september"}),
        ("/api/v3/participants/{id}/withdraw", "participant-withdraw", {"reason": "other"}),
    ]
    found = {}
    for path, kind, attributes in actions:
        body = {"data": {"type": kind, "attributes": dict(attributes, course_identifier=course(participant))}}
        found[path] = explicit(official, lp_stack, "PUT", path, {"id": participant["id"]}, body=body).status_code
    enrolment = participant["attributes"]["ecf_enrolments"][0]
    body = {"data": {"type": "participant-declaration", "attributes": {
        "participant_id": participant["id"], "declaration_type": "started", "course_identifier": course(participant),
        "declaration_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}}}
    found["POST /api/v3/participant-declarations"] = explicit(
        official, lp_stack, "POST", "/api/v3/participant-declarations", body=body).status_code
    found["/api/v3/participant-declarations/{id}/void"] = explicit(
        official, lp_stack, "PUT", "/api/v3/participant-declarations/{id}/void", {"id": declarations[0]["id"]}).status_code
    assert 404 not in found.values(), f"real records not found: {found} (enrolment {enrolment})"


# MARK: schemathesis, positive and negative

def schemathesis_schema(document, stack, mode):
    schema = schemathesis.openapi.from_dict(with_added_statuses(document))
    schema.config.update(base_url=stack.url(""))
    schema.config.generation.update(modes=[mode])
    return schema


@pytest.fixture(scope="module")
def positive_schema(document, lp_stack):
    return schemathesis_schema(document, lp_stack, GenerationMode.POSITIVE)


@pytest.fixture(scope="module")
def negative_schema(document, lp_stack):
    return schemathesis_schema(document, lp_stack, GenerationMode.NEGATIVE)


positive = schemathesis.pytest.from_fixture("positive_schema")
negative = schemathesis.pytest.from_fixture("negative_schema")


def use_real_ids(case, real, with_query=True):
    """The path's `{id}` becomes a real record's (schools: with the cohort that lists it)."""
    ids = real["ids"].get(id_source(case.operation.path))
    if "id" in (case.path_parameters or {}) and ids:
        case.path_parameters["id"] = random.Random(str(case.path_parameters["id"])).choice(ids)
        if case.operation.path == "/api/v3/schools/{id}" and with_query:
            case.query = dict(case.query or {}, **{"filter[cohort]": real["school_cohort"]})


def use_real_body_values(case, real):
    """Body attributes that name records (participant_id, school_id, ...) or a cohort get real values."""
    attributes = case.body.get("data", {}).get("attributes") if isinstance(case.body, dict) else None
    if not isinstance(attributes, dict) or not isinstance(case.body.get("data"), dict):
        return
    pick = random.Random(repr(sorted(attributes.items(), key=str)))
    for name, values in real["body"].items():
        if name in attributes and values:
            attributes[name] = pick.choice(values)


def run(case, stack, name, checks):
    key = (name, case.operation.method.upper(), case.operation.path)
    response = send(case, stack)
    statuses_seen[key][response.status_code] += 1
    # The coverage phase also sends other methods to each path: counted by operation.
    cases_run[key] += 1
    if refused_by_nginx(response):
        nginx_refusals.append(f"{case.method.upper()} {case.formatted_path}")
        return None
    case.validate_response(response, checks=checks)
    return response


@positive.parametrize()
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck), max_examples=POSITIVE_EXAMPLES)
def test_positive_pass(case, lp_stack, real):
    """Valid requests, three in four with real ids and body values: documented statuses and bodies."""
    if cases_run[("positive", case.operation.method.upper(), case.operation.path)] % 4 != 3:
        use_real_ids(case, real)
        use_real_body_values(case, real)
    run(case, lp_stack, "positive", CHECKS)


def request_body_schema(case, document):
    operation = document["paths"][case.operation.path][case.operation.method.lower()]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return content and content["schema"]


def valid_body(body, schema, document) -> bool:
    """Raw bytes or text (what the negative pass sends as a body that is no JSON) are invalid."""
    if isinstance(body, (bytes, str)):
        return False
    validator = jsonschema_rs.Draft4Validator(dict(schema, components=document["components"]))
    return validator.is_valid(body)


def readably_valid(body, schema, document) -> bool:
    """Whether the server, reading the body as the real service does, cannot tell it from a valid
    one: a numeric `cohort` is its year (docs: "a numeric `cohort` is its year")."""
    if valid_body(body, schema, document):
        return True
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return False
    read = copy.deepcopy(body)
    attributes = read["data"].get("attributes")
    if isinstance(attributes, dict) and isinstance(attributes.get("cohort"), int) and not isinstance(attributes["cohort"], bool):
        attributes["cohort"] = str(attributes["cohort"])
    return valid_body(read, schema, document)


@negative.parametrize()
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck), max_examples=NEGATIVE_EXAMPLES)
def test_negative_pass(case, lp_stack, real, document):
    """Invalid requests: never a 5xx, documented answers, and an invalid body refused with a 4xx."""
    if case.meta and not case.meta.is_negative_at(ParameterLocation.PATH):
        # So that an invalid body reaches the rules, not a 404.
        use_real_ids(case, real, with_query=not case.meta.is_negative_at(ParameterLocation.QUERY))
    response = run(case, lp_stack, "negative", CHECKS)
    schema = request_body_schema(case, document)
    if (response is None or schema is None or case.method.upper() != case.operation.method.upper()
            or not case.meta or not case.meta.is_negative_at(ParameterLocation.BODY)
            or "json" not in (case.media_type or "")):
        return
    if not readably_valid(case.body, schema, document):
        assert 400 <= response.status_code < 500, (
            f"an invalid body was accepted: {response.status_code} {response.text[:300]}\n{case.as_curl_command()}")


# MARK: figures and docs

def test_every_operation_ran_in_both_passes_and_reached_real_records(document, capsys):
    """Each operation got cases in both passes; in the positive pass, real ids reached records: every
    GET answered 200 at least once, every operation with an id answered something else than 404."""
    with capsys.disabled():
        print(f"\n    official LP v3 document: {len(operations(document))} operations, "
              f"{sum(n for (name, _, _), n in cases_run.items() if name == 'positive')} positive and "
              f"{sum(n for (name, _, _), n in cases_run.items() if name == 'negative')} negative cases, "
              f"{time.monotonic() - clock['started']:.0f} s; refused by nginx as malformed: {len(nginx_refusals)}")
        for (name, method, path), seen in sorted(statuses_seen.items(), key=lambda item: (item[0][2], item[0][1], item[0][0])):
            print(f"      {method:4} {path:48} {name:8} " + ", ".join(f"{s}x{n}" for s, n in sorted(seen.items())))
    wanted = {(name, method, path) for name in ("positive", "negative") for method, path, _ in operations(document)}
    missing = sorted(wanted - set(cases_run))
    thin = sorted(key for key, n in cases_run.items() if n < MINIMUM_CASES_PER_OPERATION)
    unanswered = sorted((method, path) for method, path, _ in operations(document)
                        if method == "GET" and not statuses_seen[("positive", method, path)][200])
    not_found = sorted((method, path) for method, path, _ in operations(document)
                       if "{id}" in path and set(statuses_seen[("positive", method, path)]) <= {404})
    assert not (missing or thin or unanswered or not_found), (
        f"without cases: {missing}\nfewer than {MINIMUM_CASES_PER_OPERATION} cases: {thin}\n"
        f"GETs never answered 200: {unanswered}\nreal ids never found: {not_found}")


def test_docs_list_every_added_status(document):
    """Each status added_statuses adds is named, with its operation, in the docs' conformance section."""
    text = DOCS.read_text()
    assert "## Conformance with the official document" in text
    section = text.split("## Conformance with the official document", 1)[1]
    for (method, path), statuses in added_statuses(document).items():
        for status in statuses:
            assert f"`{status}`" in section and f"`{path.removeprefix('/api/v3')}`" in section, (method, path, status)
