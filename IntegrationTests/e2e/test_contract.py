"""Contract tests: schemathesis generates requests for every operation of every published OpenAPI
document (served by nginx at /docs/openapi/<family>.json) and checks each answer against it: no 5xx,
documented status codes and content types, bodies valid against the response schemas.

The stack holds the Lead Provider demo data and a small Partners data set, and every request carries
a valid token of the kind the operation needs, so the generated requests reach the handlers."""
import collections
import json
import subprocess

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from conftest import BINARY, Stack
from helpers import lead_provider_demo, refused_by_nginx

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Cases each operation must at least get (hypothesis stops early only when it has run out of new inputs).
MINIMUM_CASES_PER_OPERATION = 5
cases_run = collections.Counter()
nginx_refusals = []
NGINX_URI_TOO_LONG = "The request URI is longer than this API accepts."

def token(stack, *args):
    result = subprocess.run([str(BINARY), "token", "create", *stack.store_args, *args],
                            capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.splitlines()[0]


def seed_partners(stack, staff):
    """Users, partners with members, projects and partnerships, through the staff endpoints."""
    headers = {"Authorization": f"Bearer {staff}"}

    def post(path, body):
        response = stack.post(path, json=body, headers=headers)
        assert response.status_code == 201, (path, response.status_code, response.text)
        return response.json()

    users = [post("/v1/admin/users", {"name": f"User {i}", "email": f"user{i}@example.org"}) for i in range(1, 5)]
    partners = [post("/v1/admin/partners", {"name": f"Partner {i}", "slug": f"partner-{i}", "url": f"https://partner{i}.example.org",
                                            "user_id": users[i]["id"]}) for i in range(1, 3)]
    for partner in partners:
        post(f"/v1/admin/partners/{partner['id']}/members", {"user_id": users[0]["id"]})
    projects = [post("/v1/admin/projects", {"name": f"Project {i}", "slug": f"project-{i}", "owner_id": users[1]["id"],
                                            "status": "online" if i % 2 else "new"}) for i in range(1, 4)]
    for project in projects:
        for n, partner in enumerate(partners):
            post(f"/v1/projects/{project['id']}/partnerships", {"partner_id": partner["id"], "is_default": n == 0})
    return users[0]["id"]


@pytest.fixture(scope="module")
def contract_stack(own_tmp):
    """A stack whose docs root holds only the OpenAPI documents, written by `partnerships openapi`."""
    site, state = own_tmp / "site", own_tmp / "state"
    site.mkdir(mode=0o755)
    subprocess.run([str(BINARY), "openapi", "--output", str(site / "openapi")], check=True, capture_output=True, timeout=60)
    state.mkdir(mode=0o755)
    stack = Stack(state, ["--workers", "2"], env={"DOCS_ROOT": str(site)}).start()
    values = lead_provider_demo(stack)
    staff = values["STAFF_TOKEN"]
    partners_user = seed_partners(stack, staff)
    stack.credentials = {
        "lead-provider-v3": lambda path: "Bearer " + (staff if path.startswith("/api/v3/admin/") else values["LEAD_PROVIDER_TOKEN"]),
        # Staff may call every Partners operation; reads also run as a partner user below.
        "partners-v1": lambda path: "Bearer " + staff,
    }
    stack.partners_user_token = token(stack, "--partners-user", str(partners_user))
    directory = dict(line.split("=", 1) for line in subprocess.run(
        [str(BINARY), "directory", "demo", *stack.store_args],
        capture_output=True, text=True, check=True, timeout=120).stdout.splitlines())
    stack.credentials["directory"] = lambda path: directory["DIRECTORY_KEY"]
    stack.directory_ids = directory_ids(stack, directory["DIRECTORY_KEY"], directory["DIRECTORY_ID"])
    stack.families = sorted(p.stem for p in (site / "openapi").glob("*.json"))
    yield stack
    stack.stop()


def directory_ids(stack, key, directory):
    """Real ids of the demo directory for the Directory API's path parameters, so generated cases
    reach the handlers instead of stopping at 404."""
    base = f"/api/directory/private/v1alpha/directories/{directory}/"
    first = lambda path: stack.get(base + path, headers={"Authorization": key}).json()["results"][0]["id"]
    return {"directory_id": directory, "entry_id": first("entries/partners/"), "tier_id": first("tiers/"),
            "filter_id": first("filters/")}


@pytest.fixture(scope="module")
def documents(contract_stack):
    """family name -> its OpenAPI document, as nginx serves it."""
    loaded = {}
    for family in contract_stack.families:
        response = contract_stack.get(f"/docs/openapi/{family}.json")
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
        loaded[family] = response.json()
    return loaded


def test_every_family_has_a_document_and_credentials(contract_stack, documents):
    assert {"lead-provider-v3", "partners-v1", "directory"} <= set(documents)
    missing = set(documents) - set(contract_stack.credentials)
    assert not missing, f"no test credentials for {missing}: add them to contract_stack in IntegrationTests/e2e/test_contract.py"


@pytest.fixture(scope="module")
def api_schema(contract_stack, documents):
    """All families' operations in one schema; each operation keeps its family for the credentials."""
    merged = {"openapi": "3.1.0", "info": {"title": "all families", "version": "1"}, "paths": {},
              "components": {"schemas": {}, "securitySchemes": {}}}
    for family, document in documents.items():
        # Component names repeat across families (Error, Partnership): prefix them per family.
        prefix = family.replace("-", "_") + "__"
        text = json.dumps(document).replace('"#/components/schemas/', f'"#/components/schemas/{prefix}')
        document = json.loads(text)
        for name, schema in document["components"]["schemas"].items():
            merged["components"]["schemas"][prefix + name] = schema
        merged["components"]["securitySchemes"].update(document["components"]["securitySchemes"])
        for path, item in document["paths"].items():
            for operation in item.values():
                operation["x-family"] = family
            merged["paths"][path] = item
    schema = schemathesis.openapi.from_dict(merged)
    schema.config.update(base_url=contract_stack.url(""))
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# No example database in the work tree; no deadline (a request over TLS is not a unit test's microseconds).
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case, contract_stack):
    family = case.operation.definition.raw["x-family"]
    headers = {"Authorization": contract_stack.credentials[family](case.path)}
    if family == "directory" and case.path_parameters:
        # Mostly the demo directory's real ids; sometimes the generated ones (unknown ids must answer 404 as documented).
        if cases_run[(family, case.operation.method.upper(), case.operation.path)] % 4 != 3:
            for name, value in contract_stack.directory_ids.items():
                if name in case.path_parameters:
                    case.path_parameters[name] = value
    response = case.call(session=contract_stack.session, headers=headers, verify=str(contract_stack.cert))
    if refused_by_nginx(response) or (response.status_code == 414 and NGINX_URI_TOO_LONG in response.text):
        # A request nginx itself refuses never reaches the API: as malformed (a generated header value
        # HTTP does not allow: its JSON 400), or as longer than its request line buffers (a generated
        # query of dozens of repeated parameters: its JSON 414, nginx/snippets/json-errors.conf).
        # Not an answer the documents describe.
        nginx_refusals.append(f"{case.operation.method.upper()} {case.formatted_path}")
    else:
        case.validate_response(response, checks=CHECKS)
    # The coverage phase also sends other methods to each path (a 405 must conform too): count by operation.
    cases_run[(family, case.operation.method.upper(), case.operation.path)] += 1


def test_partner_user_reads_conform(contract_stack, documents):
    """The same documents hold for a partner user's view (403s and filtered lists included)."""
    loaded = schemathesis.openapi.from_dict(documents["partners-v1"])
    headers = {"Authorization": f"APIKey {contract_stack.partners_user_token}"}
    checked = 0
    for operation in loaded.get_all_operations():
        operation = operation.ok()
        if operation.method.upper() != "GET":
            continue
        for values in ({"id": 1, "partner": 1}, {"id": 2, "partner": "partner-2"}, {"id": 999, "partner": "nobody"}):
            path_parameters = {name: values[name] for name in values if "{" + name + "}" in operation.path}
            case = operation.Case(path_parameters=path_parameters)
            case.call_and_validate(base_url=contract_stack.url(""), session=contract_stack.session, headers=headers, checks=CHECKS,
                                 verify=str(contract_stack.cert))
            checked += 1
    assert checked >= 15


def test_figures(documents, capsys):
    """Every operation of every document got generated cases; prints the figures."""
    operations = {(family, method.upper(), path) for family, document in documents.items()
                  for path, item in document["paths"].items() for method in item}
    ran = {key for key in cases_run}
    assert operations == ran, f"operations without cases: {sorted(operations - ran)}"
    thin = {key: n for key, n in cases_run.items() if n < MINIMUM_CASES_PER_OPERATION}
    assert not thin, f"operations with fewer than {MINIMUM_CASES_PER_OPERATION} cases: {thin}"
    with capsys.disabled():
        per_family = collections.Counter()
        for (family, _, _), n in cases_run.items():
            per_family[family] += n
        print(f"\n    schemathesis: {len(operations)} operations, {sum(cases_run.values())} cases, "
              + ", ".join(f"{family} {n}" for family, n in sorted(per_family.items()))
              + f"; refused by nginx as malformed: {len(nginx_refusals)} {nginx_refusals[:3]}")
