"""Partners API v1 end to end, through nginx over HTTPS, against seed 000,
../shared/reference/partners-v1.md and Ulule's own v1 documentation: every endpoint x every role
(anonymous reads of public data included), every error class in the list format, newest-first
pages with a Unix-time `since` and meta.next, the documented filters and extra fields, the project
resource, Ulule-Version, both auth words, and the one-default rule under concurrent PATCHes. Users,
partners and projects are made through the staff endpoints."""
import copy
import time
import uuid

import pytest

from helpers import Client, cli, create_token, expect, raw_request, together

PARTNERSHIP_KEYS = ["id", "is_default", "is_support", "partner", "project"]
PARTNER_KEYS = ["id", "name", "slug", "url", "user_id", "logo", "ribbon"]
PROJECT_KEYS = ["id", "slug", "name", "owner", "status", "lang", "absolute_url", "resource_uri", "type", "currency", "goal",
                "amount_raised", "goal_raised", "percent", "is_online", "finished", "main_image", "date_start", "date_end"]


def error(classification, message, *fields):
    return {"classification": classification, "fieldNames": list(fields), "message": message}


UNAUTHORIZED = [error("PermissionError", "Authentication credentials were not provided or are not valid.")]
NOT_JSON = [error("DeserializationError", "The request body must be a JSON object.")]
STAFF_ONLY = [error("PermissionError", "This endpoint is only accessible to staff.")]
PARTNER_USERS_ONLY = [error("PermissionError", "Only users of this partnership's partner may see it.")]
LISTERS_ONLY = [error("PermissionError", "Only the project owner and users of its partners may list its partnerships.")]
PARTNER_PROJECTS_ONLY = [error("PermissionError", "Only users of this partner may list its projects, unless status=online.")]
NOT_A_TIMESTAMP = [error("TypeError", "since must be a Unix timestamp in seconds.", "since")]


def private_fields_left_out(resource):
    """A partnership or project as a caller who is neither staff nor the project's owner sees it."""
    seen = copy.deepcopy(resource)
    project = seen.get("project", seen)
    project["owner"].pop("email", None)
    return seen


def required(field):
    return error("RequiredError", "This field is required.", field)


def unknown_field(field):
    return error("UnknownFieldError", f'Unknown field "{field}".', field)


class Partners:
    """Users, partners, projects and partnerships through the staff endpoints."""

    def __init__(self, stack):
        self.stack = stack
        self.staff = Client(stack, create_token(stack, staff="partners staff"))
        self.slugs = 0

    def admin(self, method, path, body=None, status=201):
        return expect(self.staff.call(method, f"/v1/admin/{path}", body), status)

    def user(self, name):
        """A user and a client holding their token."""
        user_id = self.admin("POST", "users", {"name": name, "email": f"{name.lower().replace(' ', '.')}@example.org"})["id"]
        return user_id, Client(self.stack, create_token(self.stack, partners_user=user_id))

    def slug(self, prefix):
        self.slugs += 1
        return f"{prefix}-{self.slugs}"

    def partner(self, name="Partner", members=()):
        partner = self.admin("POST", "partners", {"name": name, "slug": self.slug("partner"), "url": "https://partner.example.org"})
        for member in members:
            self.admin("POST", f"partners/{partner['id']}/members", {"user_id": member})
        return partner

    def project(self, owner, status="online"):
        return self.admin("POST", "projects", {"name": "A project", "slug": self.slug("project"), "owner_id": owner, "status": status})

    def partnership(self, project_id, partner_id, **flags):
        return expect(self.staff.post(f"/v1/projects/{project_id}/partnerships", {"partner_id": partner_id, **flags}), 201)

    def defaults(self, project_id):
        listed = expect(self.staff.get(f"/v1/projects/{project_id}/partnerships"), 200)["partnerships"]
        return [p["id"] for p in listed if p["is_default"]]


@pytest.fixture(scope="module")
def partners(api_stack):
    return Partners(api_stack)


@pytest.fixture(scope="module")
def cast(partners):
    """Every role around one project X in partnership with partner P."""
    member, member_client = partners.user("Pat Member")
    other_member, other_member_client = partners.user("Olga Othermember")
    owner, owner_client = partners.user("Owen Owner")
    other_owner, other_owner_client = partners.user("Ola Otherowner")
    partner = partners.partner("Partner P", members=[member])
    other_partner = partners.partner("Partner Q", members=[other_member])
    project = partners.project(owner)
    other_project = partners.project(other_owner)
    partners.partnership(other_project["id"], other_partner["id"])
    return {
        "partner": partner, "other_partner": other_partner, "project": project, "other_project": other_project,
        "partnership": partners.partnership(project["id"], partner["id"], is_support=True),
        "roles": {"staff": partners.staff, "partner_user": member_client, "other_partner_user": other_member_client,
                  "owner": owner_client, "other_owner": other_owner_client, "anonymous": Client(partners.stack)},
    }


ROLES = ["staff", "partner_user", "other_partner_user", "owner", "other_owner", "anonymous"]


def allowed(*roles, ok=200, denied=None):
    """Expected (status, error body) per role: `roles` get `ok`, the others 403 with `denied`, anonymous 401."""
    return {role: (ok, None) if role in roles else (401, UNAUTHORIZED) if role == "anonymous" else (403, denied) for role in ROLES}


# --- every endpoint x every role ----------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_show_partnership(cast, role):
    status, body = allowed("staff", "partner_user", denied=PARTNER_USERS_ONLY)[role]
    shown = expect(cast["roles"][role].get(f"/v1/partnerships/{cast['partnership']['id']}"), status, body)
    if status == 200:
        assert shown == (cast["partnership"] if role == "staff" else private_fields_left_out(cast["partnership"]))
        assert list(shown) == PARTNERSHIP_KEYS and list(shown["partner"]) == PARTNER_KEYS and list(shown["project"]) == PROJECT_KEYS
        assert (shown["is_default"], shown["is_support"]) == (False, True)
        assert shown["partner"]["id"] == cast["partner"]["id"] and shown["project"]["id"] == cast["project"]["id"]
        assert shown["project"]["owner"]["name"] == "Owen Owner"


@pytest.mark.parametrize("role", ROLES)
def test_create_partnership(partners, cast, role):
    newcomer = partners.partner("Newcomer")
    status, body = allowed("staff", ok=201, denied=STAFF_ONLY)[role]
    created = expect(cast["roles"][role].post(f"/v1/projects/{cast['project']['id']}/partnerships",
                                              {"partner_id": newcomer["id"], "is_default": False}), status, body)
    listed = expect(partners.staff.get(f"/v1/projects/{cast['project']['id']}/partnerships"), 200)["partnerships"]
    assert (newcomer["id"] in [p["partner"]["id"] for p in listed]) == (status == 201)
    if status == 201:
        assert isinstance(created["id"], int) and created["partner"] == newcomer
        assert (created["is_default"], created["is_support"]) == (False, False)


@pytest.mark.parametrize("role", ROLES)
def test_update_partnership(partners, cast, role):
    target = partners.partnership(cast["other_project"]["id"], partners.partner("To update")["id"])
    status, body = allowed("staff", denied=STAFF_ONLY)[role]
    expect(cast["roles"][role].patch(f"/v1/partnerships/{target['id']}", {"is_support": True}), status, body)
    after = expect(partners.staff.get(f"/v1/partnerships/{target['id']}"), 200)
    assert after["is_support"] == (status == 200)


@pytest.mark.parametrize("role", ROLES)
def test_delete_partnership(partners, cast, role):
    target = partners.partnership(cast["project"]["id"], partners.partner("To delete")["id"])
    status, body = allowed("staff", ok=204, denied=STAFF_ONLY)[role]
    expect(cast["roles"][role].delete(f"/v1/partnerships/{target['id']}"), status, body)
    expect(partners.staff.get(f"/v1/partnerships/{target['id']}"), 404 if status == 204 else 200)


@pytest.mark.parametrize("role", ROLES)
def test_list_project_partnerships(partners, cast, role):
    status, body = allowed("staff", "partner_user", "owner", denied=LISTERS_ONLY)[role]
    listed = expect(cast["roles"][role].get(f"/v1/projects/{cast['project']['id']}/partnerships"), status, body)
    if status == 200:
        assert list(listed) == ["partnerships", "meta"]
        expected = cast["partnership"] if role in ("staff", "owner") else private_fields_left_out(cast["partnership"])
        assert expected in listed["partnerships"]
        assert all(p["project"]["id"] == cast["project"]["id"] for p in listed["partnerships"])


@pytest.mark.parametrize("role", ROLES)
def test_show_project_embeds_partnerships_for_those_who_may_list_them(cast, role):
    client = cast["roles"][role]
    path = f"/v1/projects/{cast['project']['id']}"
    plain = expect(client.get(path), 200)  # online: anyone, without a token too
    assert list(plain) == PROJECT_KEYS and plain["absolute_url"] == client.stack.url(f"/projects/{cast['project']['slug']}")
    assert ("email" in plain["owner"]) == (role in ("staff", "owner"))
    extended = expect(client.get(path + "?extra_fields=partnerships"), 200)
    if role in ("staff", "partner_user", "owner"):
        assert list(extended) == PROJECT_KEYS + ["partnerships"]
        expected = cast["partnership"] if role in ("staff", "owner") else private_fields_left_out(cast["partnership"])
        assert expected in extended["partnerships"]
        assert [p["id"] for p in extended["partnerships"]] == sorted((p["id"] for p in extended["partnerships"]), reverse=True)
    else:
        assert extended == plain


@pytest.mark.parametrize("role", ROLES)
def test_show_partner(cast, role):
    for key in ("id", "slug"):
        shown = expect(cast["roles"][role].get(f"/v1/partners/{cast['partner'][key]}"), 200)  # anyone
        assert shown == cast["partner"] and list(shown) == PARTNER_KEYS
        assert shown["url"] == "https://partner.example.org" and shown["logo"] is None


@pytest.mark.parametrize("role", ROLES)
def test_partner_projects_for_its_users_or_online_ones_for_everyone(partners, cast, role):
    client, slug = cast["roles"][role], cast["partner"]["slug"]
    status, body = allowed("staff", "partner_user", denied=PARTNER_PROJECTS_ONLY)[role]
    listed = expect(client.get(f"/v1/partners/{slug}/projects"), status, body)
    if status == 200:
        assert cast["project"]["id"] in [p["id"] for p in listed["projects"]]
        assert list(listed) == ["projects", "meta"] and list(listed["projects"][0]) == PROJECT_KEYS
    by_id = expect(client.get(f"/v1/partners/{cast['partner']['id']}/projects"), status, body)
    if status == 200:
        assert by_id == listed
    online = expect(client.get(f"/v1/partners/{slug}/projects?status=online"), 200)  # anyone, without a token too
    assert cast["project"]["id"] in [p["id"] for p in online["projects"]]
    assert all(p["status"] == "online" and p["is_online"] for p in online["projects"])


@pytest.mark.parametrize("role", ROLES[1:])
def test_staff_endpoints_refuse_everyone_else(partners, cast, role):
    status, body = (401, UNAUTHORIZED) if role == "anonymous" else (403, STAFF_ONLY)
    client = cast["roles"][role]
    for method, path, payload in [("POST", "/v1/admin/users", {"name": "X"}), ("POST", "/v1/admin/partners", {"name": "X", "slug": "x"}),
                                  ("PATCH", f"/v1/admin/partners/{cast['partner']['id']}", {"name": "Mine"}),
                                  ("POST", f"/v1/admin/partners/{cast['partner']['id']}/members", {"user_id": 1}),
                                  ("POST", "/v1/admin/projects", {"name": "X", "slug": "x", "owner_id": 1}),
                                  ("PATCH", f"/v1/admin/projects/{cast['project']['id']}", {"status": "waiting"})]:
        expect(client.call(method, path, payload), status, body)


def test_membership_changes_take_effect(partners, cast):
    newcomer_id, newcomer = partners.user("Nina New")
    path = f"/v1/partnerships/{cast['partnership']['id']}"
    expect(newcomer.get(path), 403, PARTNER_USERS_ONLY)
    partners.admin("POST", f"partners/{cast['partner']['id']}/members", {"user_id": newcomer_id})
    expect(newcomer.get(path), 200)
    partners.admin("DELETE", f"partners/{cast['partner']['id']}/members/{newcomer_id}", status=204)
    expect(newcomer.get(path), 403, PARTNER_USERS_ONLY)


# --- auth words ---------------------------------------------------------------------------------

API_KEY_READS_ONLY = [error("PermissionError", "An API key only reads: writes need an OAuth2 access token (Authorization: Bearer <token>).")]


def test_apikey_and_bearer_words_both_work_and_others_do_not(partners, cast):
    staff_token = partners.staff.token
    member_token = cast["roles"]["partner_user"].token
    path = f"/v1/partnerships/{cast['partnership']['id']}"
    for word in ("APIKey", "Bearer", "apikey", "bearer"):
        expect(Client(partners.stack, member_token, word).get(path), 200)
        expect(Client(partners.stack, staff_token, word).get(path), 200)
    for word in ("Bearer", "bearer"):  # a staff key as Bearer: the operators' tooling
        expect(Client(partners.stack, staff_token, word).patch(path, {"is_support": True}), 200)
    for word in ("APIKey", "apikey"):  # an API key only reads (Ulule: writes need OAuth2)
        expect(Client(partners.stack, staff_token, word).patch(path, {"is_support": True}), 403, API_KEY_READS_ONLY)
    for word, token in (("Token", member_token), ("Basic", member_token), ("APIKey", "unknown-key"), ("Bearer", "")):
        response = Client(partners.stack, token, word).get(path)
        expect(response, 401, UNAUTHORIZED)
        assert response.headers["WWW-Authenticate"] == "APIKey, Bearer"
    status, body = raw_request(partners.stack, "GET", path, [("Authorization", f"APIKey {member_token}"),
                                                             ("Authorization", f"Bearer {member_token}")])
    assert status == 400 and "repeats a header" in body["detail"]


def test_a_lead_provider_token_is_no_credential_here(partners, cast):
    provider = expect(partners.staff.post("/api/v3/admin/lead-providers", {"name": "Some Provider"}), 201)["data"]["id"]
    client = Client(partners.stack, create_token(partners.stack, lead_provider=provider))
    expect(client.get(f"/v1/partnerships/{cast['partnership']['id']}"), 401, UNAUTHORIZED)
    expect(client.get(f"/v1/partners/{cast['partner']['id']}"), 401, UNAUTHORIZED)


# --- every error class --------------------------------------------------------------------------

def test_every_error_class_in_the_list_format(partners, cast):
    staff, project = partners.staff, cast["project"]["id"]
    create = f"/v1/projects/{project}/partnerships"
    update = f"/v1/partnerships/{cast['partnership']['id']}"
    fresh = partners.partner("Fresh")["id"]
    cases = [
        (staff.post(create, raw="{not json"), 400, NOT_JSON),
        (staff.post(create, raw="[1, 2]"), 400, NOT_JSON),
        (staff.patch(update, raw='{"is_default": tru}'), 400, NOT_JSON),
        (staff.post(create), 400, [required("partner_id")]),
        (staff.post(create, {}), 400, [required("partner_id")]),
        (staff.post(create, {"partner_id": None, "is_default": True}), 400, [required("partner_id")]),
        (staff.post(create, {"partner_id": "7"}), 400, [error("TypeError", "Expected an integer.", "partner_id")]),
        (staff.post(create, {"partner_id": True}), 400, [error("TypeError", "Expected an integer.", "partner_id")]),
        (staff.post(create, {"partner_id": 1.5}), 400, [error("TypeError", "Expected an integer.", "partner_id")]),
        (staff.post(create, {"partner_id": fresh, "is_default": "yes"}), 400, [error("TypeError", "Expected a boolean.", "is_default")]),
        (staff.patch(update, {"is_support": 1}), 400, [error("TypeError", "Expected a boolean.", "is_support")]),
        (staff.patch(update, {"is_default": None}), 400, [error("TypeError", "Expected a boolean.", "is_default")]),
        (staff.post(create, {"partner_id": fresh, "colour": "red"}), 400, [unknown_field("colour")]),
        (staff.post(create, {"id": 5, "project": {}}), 400, [unknown_field("id"), unknown_field("project"), required("partner_id")]),
        (staff.patch(update, {"partner_id": fresh}), 400, [unknown_field("partner_id")]),
        (staff.post(create, {"partner_id": 999999}), 400, [error("ValueError", "Partner 999999 does not exist.", "partner_id")]),
        (staff.post(create, {"partner_id": cast["partner"]["id"]}), 409,
         [error("ValueError", "This partner is already in partnership with this project.", "partner_id")]),
        (staff.get(f"/v1/projects/{project}/partnerships?limit=abc"), 400, [error("TypeError", "limit must be a positive integer.", "limit")]),
        (staff.get(f"/v1/projects/{project}/partnerships?limit=0"), 400, [error("TypeError", "limit must be a positive integer.", "limit")]),
        (staff.get(f"/v1/projects/{project}/partnerships?since=-3"), 400, NOT_A_TIMESTAMP),
        (staff.get(f"/v1/partners/{cast['partner']['slug']}/projects?status=finished"), 400,
         [error("ValueError", "Unknown status \"finished\": expected one of new, pending, pending-owner, pending-final-validation, "
                              "validated, online, refused, waiting.", "status")]),
        (staff.get(f"/v1/projects/{project}?extra_fields=rewards"), 400,
         [error("ValueError", "Unknown extra field \"rewards\": this endpoint serves partnerships.", "extra_fields")]),
        (cast["roles"]["owner"].post(create, {"partner_id": fresh}), 403, STAFF_ONLY),
        (Client(partners.stack).post(create, {"partner_id": fresh}), 401, UNAUTHORIZED),
        (staff.get("/v1/partnerships/999999"), 404, [error("ValueError", "Partnership 999999 does not exist.")]),
        (staff.get("/v1/partnerships/abc"), 404, [error("ValueError", "Partnership abc does not exist.")]),
        (staff.post("/v1/projects/999999/partnerships", {"partner_id": fresh}), 404, [error("ValueError", "Project 999999 does not exist.")]),
        (staff.get("/v1/partners/999999"), 404, [error("ValueError", "Partner 999999 does not exist.")]),
    ]
    for response, status, body in cases:
        expect(response, status, body)
    # None of the refused creates happened.
    listed = expect(staff.get(f"/v1/projects/{project}/partnerships"), 200)["partnerships"]
    assert fresh not in [p["partner"]["id"] for p in listed]


OUT_OF_RANGE = "Expected an integer from -9007199254740991 to 9007199254740991."


def test_integers_out_of_range_or_with_a_fraction_are_refused(partners):
    """Integer fields take integers a client can send and get back exactly (the I-JSON range,
    +/-(2^53 - 1)): larger ones (1e300 was taken, and read as partner 0) are a ValueError, and numbers
    with a fraction a TypeError, in this API's list format. An integral number in range is one."""
    staff = partners.staff
    owner, _ = partners.user("Range Owner")
    create = f"/v1/projects/{partners.project(owner)['id']}/partnerships"
    for number in ("1e300", "1e20", "9223372036854775808", "9223372036854775807", "-9223372036854775809", "9007199254740992"):
        expect(staff.post(create, raw=f'{{"partner_id": {number}}}'), 400, [error("ValueError", OUT_OF_RANGE, "partner_id")])
        expect(staff.call("POST", "/v1/admin/projects", raw=f'{{"name": "P", "slug": "{partners.slug("range")}", "owner_id": {number}}}'),
               400, [error("ValueError", OUT_OF_RANGE, "owner_id")])
    for number in ("1.5", "1e-3", "-2.5"):
        expect(staff.post(create, raw=f'{{"partner_id": {number}}}'), 400, [error("TypeError", "Expected an integer.", "partner_id")])
    assert expect(staff.get(create), 200)["partnerships"] == []
    # 7.0 and 7e0 are the integer 7.
    fresh = partners.partner("Exact")["id"]
    assert expect(staff.post(create, raw=f'{{"partner_id": {fresh}.0}}'), 201)["partner"]["id"] == fresh
    project_body = f'{{"name": "P", "slug": "{partners.slug("exact")}", "owner_id": {owner}e0}}'
    assert expect(staff.call("POST", "/v1/admin/projects", raw=project_body), 201)["owner"]["id"] == owner


# --- pagination ---------------------------------------------------------------------------------

def test_pages_are_newest_first_and_meta_next_walks_them_all(partners):
    """45 partnerships made within a few seconds: many share a second, so the pages rely on the
    id tie-breaker that meta.next carries (since_id) to neither skip nor repeat one."""
    owner, _ = partners.user("Big Owner")
    project = partners.project(owner)["id"]
    made = [partners.partnership(project, partners.partner(f"P{i}")["id"])["id"] for i in range(45)]
    newest_first = made[::-1]
    base = f"/v1/projects/{project}/partnerships"

    def follow(query):
        pages, path = [], base + query
        while path is not None and len(pages) < 10:
            body = expect(partners.staff.get(path), 200)
            pages.append(body)
            path = None if body["meta"]["next"] is None else base + body["meta"]["next"]
        return pages

    pages = follow("")
    assert [len(p["partnerships"]) for p in pages] == [20, 20, 5]
    assert [x["id"] for p in pages for x in p["partnerships"]] == newest_first
    next_query = pages[0]["meta"]["next"]
    assert next_query.startswith("?limit=20&since=") and next_query.endswith(f"&since_id={newest_first[19]}")
    assert pages[2]["meta"] == {"limit": 20, "next": None}
    assert [len(p["partnerships"]) for p in follow("?limit=50")] == [20, 20, 5]  # clamped to 20
    small = follow("?limit=15")
    assert [len(p["partnerships"]) for p in small] == [15, 15, 15]  # an exact last page: next is null
    assert small[-1]["meta"] == {"limit": 15, "next": None}
    assert [x["id"] for p in follow("?limit=7") for x in p["partnerships"]] == newest_first


def test_since_is_a_unix_timestamp_in_seconds(partners):
    owner, _ = partners.user("Clock Owner")
    project = partners.project(owner)["id"]
    before = int(time.time())
    made = partners.partnership(project, partners.partner("Timed")["id"])["id"]
    after = int(time.time()) + 1
    base = f"/v1/projects/{project}/partnerships"
    assert [p["id"] for p in expect(partners.staff.get(f"{base}?since={after}"), 200)["partnerships"]] == [made]
    assert expect(partners.staff.get(f"{base}?since={before}"), 200) == {"partnerships": [], "meta": {"limit": 20, "next": None}}
    for bad in ("-3", "1.5", "2024-01-01", "abc"):
        expect(partners.staff.get(f"{base}?since={bad}"), 400, NOT_A_TIMESTAMP)


def test_partner_projects_pages_keep_the_filters(partners):
    member, member_client = partners.user("Paging Member")
    partner = partners.partner("Paging Partner", members=[member])
    owner, _ = partners.user("Paging Owner")
    online = []
    for i in range(7):
        project = partners.project(owner, status="online" if i % 2 == 0 else "pending")
        partners.partnership(project["id"], partner["id"])
        if i % 2 == 0:
            online.insert(0, project["id"])  # newest first
    base = f"/v1/partners/{partner['slug']}/projects"
    first = expect(member_client.get(f"{base}?status=online&limit=3"), 200)
    assert [p["id"] for p in first["projects"]] == online[:3]
    assert first["meta"]["next"].endswith(f"&since_id={online[2]}&status=online")
    second = expect(member_client.get(base + first["meta"]["next"]), 200)
    assert [p["id"] for p in second["projects"]] == online[3:] and second["meta"]["next"] is None
    assert len(expect(member_client.get(base), 200)["projects"]) == 7


# --- Ulule's conventions: public data, filters, the project resource, versions ---------------------

def test_public_data_needs_no_token_and_private_data_does(partners):
    member, _ = partners.user("Public Member")
    owner, owner_client = partners.user("Public Owner")
    partner = partners.partner("Public Partner", members=[member])
    online, pending = partners.project(owner), partners.project(owner, status="pending")
    link = partners.partnership(online["id"], partner["id"])
    partners.partnership(pending["id"], partner["id"])
    anonymous = Client(partners.stack)
    shown = expect(anonymous.get(f"/v1/projects/{online['id']}"), 200)
    assert shown["owner"] == {"id": owner, "name": "Public Owner", "absolute_url": partners.stack.url(f"/users/{owner}")}
    assert expect(owner_client.get(f"/v1/projects/{online['id']}"), 200)["owner"]["email"] == "public.owner@example.org"
    assert expect(anonymous.get(f"/v1/partners/{partner['slug']}"), 200) == partner
    listed = expect(anonymous.get(f"/v1/partners/{partner['slug']}/projects?status=online"), 200)
    assert [p["id"] for p in listed["projects"]] == [online["id"]]
    for path in (f"/v1/projects/{pending['id']}", f"/v1/partners/{partner['slug']}/projects",
                 f"/v1/partners/{partner['slug']}/projects?status=pending", f"/v1/partnerships/{link['id']}",
                 f"/v1/projects/{online['id']}/partnerships"):
        response = anonymous.get(path)
        expect(response, 401, UNAUTHORIZED)
        assert response.headers["WWW-Authenticate"] == "APIKey, Bearer"
    # The extra field of those who may list partnerships is left out, not refused.
    assert "partnerships" not in expect(anonymous.get(f"/v1/projects/{online['id']}?extra_fields=partnerships"), 200)
    # Bad credentials are refused on public data too (Ulule-Version 2020-10-07); read anonymously before it.
    bad = Client(partners.stack, "ptk_not_a_key", "APIKey")
    expect(bad.get(f"/v1/projects/{online['id']}"), 401, UNAUTHORIZED)
    expect(bad.get(f"/v1/projects/{online['id']}", headers={"Ulule-Version": "2020-10-06"}), 200)


def test_is_winner_and_status_filter_partner_projects(partners):
    owner, _ = partners.user("Prize Owner")
    partner = partners.partner("Prize Partner")
    winner, other = partners.project(owner), partners.project(owner)
    for project in (winner, other):
        partners.partnership(project["id"], partner["id"])
    partners.admin("PATCH", f"projects/{winner['id']}", {"is_winner": True}, status=200)
    base = f"/v1/partners/{partner['slug']}/projects?status=online"
    anonymous = Client(partners.stack)
    assert [p["id"] for p in expect(anonymous.get(base + "&is_winner=true"), 200)["projects"]] == [winner["id"]]
    assert [p["id"] for p in expect(anonymous.get(base + "&is_winner=false"), 200)["projects"]] == [other["id"]]
    expect(anonymous.get(base + "&is_winner=1"), 400, [error("ValueError", "is_winner must be true or false.", "is_winner")])
    expect(anonymous.get(f"/v1/partners/{partner['slug']}/projects?status=offline"), 400)


def test_the_project_is_ulules_project_resource(partners):
    owner, _ = partners.user("Resource Owner")
    slug = partners.slug("café")
    project = partners.admin("POST", "projects", {"name": "Jardin", "slug": slug, "owner_id": owner, "status": "online", "lang": "fr",
                                                  "goal": 2000, "amount_raised": 500, "currency": "EUR", "type": "project"})
    shown = expect(Client(partners.stack).get(f"/v1/projects/{project['id']}?lang=all"), 200)
    assert shown["name"] == {"fr": "Jardin"} and shown["lang"] == "fr"
    assert shown["absolute_url"] == partners.stack.url("/projects/" + slug.replace("é", "%C3%A9"))
    assert shown["resource_uri"] == partners.stack.url(f"/v1/projects/{project['id']}")
    assert (shown["goal"], shown["amount_raised"], shown["percent"], shown["goal_raised"]) == (2000, 500, 25, False)
    assert (shown["currency"], shown["type"], shown["is_online"], shown["finished"], shown["main_image"]) == ("EUR", "project", True, False, {})
    expect(partners.staff.patch(f"/v1/admin/projects/{project['id']}", {"status": "finished"}), 400)
    dated = partners.admin("PATCH", f"projects/{project['id']}", {"date_end": "2030-01-31T23:00:00.5+01:00"}, status=200)
    assert (dated["date_start"], dated["date_end"]) == (None, "2030-01-31T22:00:00Z")


def test_ulule_version_is_a_date_and_selects_documented_behaviour(partners, cast):
    path = f"/v1/partnerships/{cast['partnership']['id']}"
    for bad in ("2018-9-3", "2018-02-30", "latest"):
        expect(partners.staff.get(path, headers={"Ulule-Version": bad}), 400,
               [error("ValueError", "Ulule-Version must be a date written YYYY-MM-DD, such as 2020-11-10.", "Ulule-Version")])
        expect(Client(partners.stack).get(f"/v1/partners/{cast['partner']['id']}", headers={"Ulule-Version": bad}), 400)
    current = expect(partners.staff.get(path, headers={"Ulule-Version": "2018-09-03"}), 200)
    assert list(current) == PARTNERSHIP_KEYS
    older = expect(partners.staff.get(path, headers={"Ulule-Version": "2018-09-02"}), 200)
    assert list(older) == ["id", "is_default", "is_support", "partner", "presale"] and older["presale"] == current["project"]
    # Workers keep a partnership's answer for the same request (docs/operations.md, "Kept answers"):
    # asked again and again, each version and each host still gets its own.
    for _ in range(3):
        assert list(expect(partners.staff.get(path, headers={"Ulule-Version": "2018-09-02"}), 200)) == list(older)
        assert expect(partners.staff.get(path, headers={"Ulule-Version": "2018-09-03"}), 200) == current
        for host in ("partners-a.example", "partners-b.example"):
            shown = expect(partners.staff.get(path, headers={"Host": host}), 200)
            assert shown["project"]["absolute_url"].startswith(f"https://{host}/"), shown["project"]["absolute_url"]
    # Sent twice, the header is read by its last copy: the answer kept for the first copy's version
    # (asked for just above) is not the one sent.
    for _ in range(3):
        status, body = raw_request(partners.stack, "GET", path, [
            ("Authorization", f"{partners.staff.word} {partners.staff.token}"),
            ("Ulule-Version", "2018-09-02"), ("Ulule-Version", "2018-09-03")])
        assert status == 200 and list(body) == PARTNERSHIP_KEYS, body
    project = f"/v1/projects/{cast['project']['id']}"
    assert expect(partners.staff.get(project, headers={"Ulule-Version": "2017-09-14"}), 200)["name"] == "A project"
    expect(partners.staff.get(project + "?extra_fields=rewards", headers={"Ulule-Version": "2019-03-06"}), 200)


def test_the_partners_own_user_is_a_partner_user(partners, cast):
    chief, chief_client = partners.user("Chief Partner")
    partner = partners.admin("POST", "partners", {"name": "Chief's", "slug": partners.slug("chief"), "user_id": chief})
    link = partners.partnership(cast["other_project"]["id"], partner["id"])
    expect(chief_client.get(f"/v1/partnerships/{link['id']}"), 200)
    expect(chief_client.get(f"/v1/partners/{partner['slug']}/projects"), 200)
    # Another partner's partnership is refused (403); an unknown one is not found (404).
    expect(chief_client.get(f"/v1/partnerships/{cast['partnership']['id']}"), 403, PARTNER_USERS_ONLY)
    expect(chief_client.get("/v1/partnerships/999999"), 404, [error("ValueError", "Partnership 999999 does not exist.")])


def test_staff_set_partner_images_from_a_url(partners):
    partner = partners.partner("Pictured")
    url = "https://cdn.example.org/pictured/logo.png"
    changed = partners.admin("PATCH", f"partners/{partner['id']}", {"logo": {"url": url}}, status=200)
    version = {"url": url, "width": None, "height": None}
    assert changed["logo"] == {"id": changed["logo"]["id"], "name": "logo.png", "type": "logo", "url": url,
                               "versions": {"small": version, "medium": version, "large": version, "full": version}}
    assert changed["ribbon"] is None
    assert expect(Client(partners.stack).get(f"/v1/partners/{partner['slug']}"), 200) == changed
    expect(partners.staff.patch(f"/v1/admin/partners/{partner['id']}", {"ribbon": {"url": "javascript:alert(1)"}}), 400,
           [error("ValueError", "Not an accepted value.", "ribbon.url")])
    assert partners.admin("PATCH", f"partners/{partner['id']}", {"logo": None}, status=200)["logo"] is None


def test_oauth2_client_credentials_refresh_and_expiring_bearer_tokens(partners):
    """Ulule's OAuth2: HTTP Basic client credentials at /oauth2/token/ (trailing slash), form body,
    a Bearer access token for 10 hours that writes, a refresh token that gets new ones."""
    stack = partners.stack
    values = dict(line.split("=", 1) for line in cli(stack, "token", "oauth-client", "create", "--staff", "app",
                                                      "--name", "Staff app").splitlines() if "=" in line)
    auth = (values["CLIENT_ID"], values["CLIENT_SECRET"])
    url = stack.url("/oauth2/token/")
    granted = stack.session.post(url, auth=auth, data={"grant_type": "client_credentials"}, timeout=30)
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 36000, "read write")
    assert granted.headers["Cache-Control"] == "no-store"
    bearer = Client(stack, body["access_token"], "Bearer")
    owner = expect(bearer.post("/v1/admin/users", {"name": "OAuth Owner"}), 201)["id"]
    project = expect(bearer.post("/v1/admin/projects", {"name": "By app", "slug": partners.slug("app"), "owner_id": owner}), 201)
    expect(Client(stack, body["access_token"], "APIKey").get(f"/v1/projects/{project['id']}"), 401, UNAUTHORIZED)
    renewed = stack.session.post(url, auth=auth, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}, timeout=30)
    assert renewed.status_code == 200 and renewed.json()["access_token"] != body["access_token"]
    expect(Client(stack, renewed.json()["access_token"]).patch(f"/v1/admin/projects/{project['id']}", {"goal": 10}), 200)
    wrong = stack.session.post(url, auth=(auth[0], "pcs_wrong"), data={"grant_type": "client_credentials"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="partnerships"'
    unsupported = stack.session.post(url, auth=auth, data={"grant_type": "password", "username": "u", "password": "p"}, timeout=30)
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    # A revoked client's tokens stop working.
    cli(stack, "token", "oauth-client", "revoke", auth[0])
    expect(Client(stack, renewed.json()["access_token"]).get(f"/v1/projects/{project['id']}/partnerships"), 401, UNAUTHORIZED)
    assert auth[0] in cli(stack, "token", "oauth-client", "list")


# --- the default-partnership rule ---------------------------------------------------------------

def test_at_most_one_default_when_set_one_after_another(partners):
    owner, _ = partners.user("Default Owner")
    project = partners.project(owner)["id"]
    a = partners.partnership(project, partners.partner("A")["id"], is_default=True)
    assert partners.defaults(project) == [a["id"]]
    b = partners.partnership(project, partners.partner("B")["id"], is_default=True)
    assert partners.defaults(project) == [b["id"]]
    assert expect(partners.staff.patch(f"/v1/partnerships/{a['id']}", {"is_default": True}), 200)["is_default"] is True
    assert partners.defaults(project) == [a["id"]]
    expect(partners.staff.patch(f"/v1/partnerships/{a['id']}", {"is_default": False}), 200)
    assert partners.defaults(project) == []
    expect(partners.staff.patch(f"/v1/partnerships/{b['id']}", {}), 200)  # an empty PATCH changes nothing
    assert partners.defaults(project) == []


def test_exactly_one_default_after_concurrent_patches(partners):
    owner, _ = partners.user("Race Owner")
    project = partners.project(owner)["id"]
    others = partners.project(owner)["id"]
    ids = [partners.partnership(project, partners.partner(f"Racer {i}")["id"])["id"] for i in range(10)]
    bystander = partners.partnership(others, partners.partner("Bystander")["id"], is_default=True)["id"]
    for _ in range(5):
        calls = [lambda i=i: partners.staff.patch(f"/v1/partnerships/{i}", {"is_default": True}) for i in ids]
        calls += [lambda: partners.staff.post(f"/v1/projects/{project}/partnerships",
                                              {"partner_id": partners.partner("Late")["id"], "is_default": True})]
        responses = together(calls)
        assert all(r.status_code in (200, 201) and r.json()["is_default"] is True for r in responses), [r.text for r in responses]
        defaults = partners.defaults(project)
        assert len(defaults) == 1, defaults
        assert defaults[0] in ids + [responses[-1].json()["id"]]
    assert partners.defaults(others) == [bystander]  # another project's default is untouched


# --- the demo data deploy/up loads ----------------------------------------------------------------

def test_demo_data_prints_partners_tokens_that_work(make_stack):
    stack = make_stack("--workers", "1")
    values = dict(line.split("=", 1) for line in cli(stack, "lead-provider", "demo").splitlines() if "=" in line)
    user = Client(stack, values["PARTNERS_USER_TOKEN"], "APIKey")
    listed = expect(user.get(f"/v1/projects/{values['PARTNERS_PROJECT_ID']}/partnerships"), 200)
    assert listed["partnerships"] and listed["meta"]["next"] is None
    assert [p for p in listed["partnerships"] if p["is_default"]]
    expect(user.get(f"/v1/partnerships/{values['PARTNERS_PARTNERSHIP_ID']}"), 200)
    assert expect(user.get(f"/v1/partners/{values['PARTNERS_PARTNER_SLUG']}/projects"), 200)["projects"]
    staff = Client(stack, values["STAFF_TOKEN"])
    expect(staff.get("/api/v3/admin/cohorts"), 200)
    expect(staff.patch(f"/v1/partnerships/{values['PARTNERS_PARTNERSHIP_ID']}", {"is_support": True}), 200)
    expect(Client(stack, values["LEAD_PROVIDER_TOKEN"]).get("/api/v3/partnerships"), 200)
    # A second run loads nothing and prints no token.
    assert "TOKEN=" not in cli(stack, "lead-provider", "demo")


# --- conditional requests and idempotency ---------------------------------------------------------

def test_a_partnership_carries_an_etag_and_a_stale_if_match_is_refused(partners):
    _, member = partners.user("Etag Member")
    owner, _ = partners.user("Etag Owner")
    partner, project = partners.partner("Etag Partner"), partners.project(owner)
    created = partners.partnership(project["id"], partner["id"])
    path = f"/v1/partnerships/{created['id']}"
    tag = partners.staff.get(path).headers["ETag"]
    assert partners.staff.get(path, headers={"If-None-Match": tag}).status_code == 304
    expect(partners.staff.patch(path, {"is_support": True}, headers={"If-Match": tag}), 200)
    stale = partners.staff.patch(path, {"is_support": False}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()[0]["classification"] == "ValueError", stale.text
    assert expect(partners.staff.get(path), 200)["is_support"] is True


def test_an_idempotency_key_makes_a_retried_create_happen_once(partners):
    owner, _ = partners.user("Key Owner")
    partner, project = partners.partner("Key Partner"), partners.project(owner)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = partners.staff.post(f"/v1/projects/{project['id']}/partnerships", {"partner_id": partner["id"]}, headers=key)
    retried = partners.staff.post(f"/v1/projects/{project['id']}/partnerships", {"partner_id": partner["id"]}, headers=key)
    assert first.status_code == retried.status_code == 201 and retried.json() == first.json()
    assert len(expect(partners.staff.get(f"/v1/projects/{project['id']}/partnerships"), 200)["partnerships"]) == 1
    other = partners.staff.post(f"/v1/projects/{project['id']}/partnerships", {"partner_id": partner["id"], "is_support": True}, headers=key)
    assert other.status_code == 422 and other.json()[0]["classification"] == "ValueError"
