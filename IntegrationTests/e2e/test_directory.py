"""Directory API end to end through nginx: every generic sub-resource (table-driven), entries,
tiers, the edit approval flow, invites, forms, contact requests, matchmaking, reviews, validation
errors, permissions and cross-organization isolation."""
import subprocess
import threading
import uuid

import pytest

from conftest import BINARY, Stack, make_state

BASE = "/api/directory/private/v1alpha"


def admin(stack, *args):
    result = subprocess.run([str(BINARY), "directory", *args, *stack.store_args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


class Client:
    def __init__(self, stack, key):
        self.stack, self.key = stack, key

    def call(self, method, path, body=None, key=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if key != "":
            headers["Authorization"] = key or self.key
        return self.stack.session.request(method, self.stack.url(BASE + path), json=body, headers=headers, timeout=30, **kwargs)

    def ok(self, method, path, body=None, status=200):
        response = self.call(method, path, body)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


@pytest.fixture(scope="module")
def world(tmp_path_factory, docs_root):
    stack = Stack(make_state(tmp_path_factory), ["--workers", "2"], env={"DOCS_ROOT": str(docs_root)}).start()
    org = admin(stack, "organization", "--name", "Acme", "--domain", "acme.example")[0]
    other_org = admin(stack, "organization", "--name", "Other", "--domain", "other.example")[0]
    directory = admin(stack, "create", "--organization", org, "--name", "Acme Partners")[0]
    other_directory = admin(stack, "create", "--organization", other_org, "--name", "Other Partners")[0]
    key = admin(stack, "key", "--organization", org, "--permissions", "generic_directory:*")[0]
    other_key = admin(stack, "key", "--organization", other_org, "--permissions", "generic_directory:*")[0]
    reader = admin(stack, "key", "--organization", org, "--permissions",
                   "generic_directory:read_partner_entries,generic_directory:read_reviews,generic_directory:update_reviews,"
                   "generic_directory:update_partner_entries")[0]
    yield {"stack": stack, "api": Client(stack, key), "other": Client(stack, other_key), "reader": Client(stack, reader),
           "d": directory, "other_d": other_directory, "org": org}
    stack.stop()


@pytest.fixture(scope="module")
def entry(world):
    api, d = world["api"], world["d"]
    return api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "The Best Partner", "status": "public",
                                                                   "website": "https://www.acme.example/about"}, 201)


# (path under the directory or entry, create body, patch body, a response key that must be camelCase or None)
DIRECTORY_RESOURCES = [
    ("callouts", {"name": "New", "textColor": "635BFF", "backgroundColor": "E8E6FF", "order": 1}, {"name": "Renamed"}, "textColor"),
    ("badges", {"title": "Top"}, {"order": 2}, None),
    ("certifications", {"title": "ISO 27001"}, {"description": "Security"}, None),
    ("verifications", {"title": "Verified"}, {"title": "Verified 2"}, None),
    ("tiers", {"title": "Gold", "order": 1}, {"default": True}, "entriesCount"),
    ("filters", {"name": "Industry", "internal": True}, {"external": True}, None),
]
ENTRY_RESOURCES = [
    ("callouts", {"name": "Hot", "textColor": "000000"}, {"order": 3}, "textColor"),
    ("certifications", {"title": "Cert", "quantity": 14}, {"quantity": 1}, None),
    ("industry-certifications", {"title": "Retail", "industry": "Retail"}, {"quantity": 2}, None),
    ("segment-certifications", {"title": "SMB", "segment": "SMB"}, {"quantity": 3}, None),
    ("clients", {"title": "Globex", "url": "https://globex.example"}, {"order": 1}, None),
    ("keywords", {"name": "crm"}, {"name": "erp"}, None),
    ("locations", {"name": "HQ", "city": "Dublin", "postalCode": "D01"}, {"country": "Ireland"}, None),
    ("media", {"title": "Video", "pdfFileThumbnailUrl": "https://x.example/t.png", "type": "V"}, {"order": 1}, "pdfFileThumbnailUrl"),
    ("resources", {"title": "Guide", "url": "https://x.example/guide"}, {"order": 2}, None),
    ("internal-resources", {"title": "Playbook"}, {"order": 2}, None),
    ("special-offers", {"title": "10% off"}, {"description": "First year"}, None),
    ("testimonials", {"authorName": "Jo", "testimonialText": "Great"}, {"position": "CTO"}, None),
    ("internal-testimonials", {"authorName": "Al", "testimonialText": "Fine"}, {"companyName": "Initech"}, None),
    ("use-cases", {"title": "Onboarding", "description": "Fast"}, {"order": 4}, None),
    ("internal-use-cases", {"title": "Upsell"}, {"description": "Internal only"}, None),
    ("verifications", {"title": "Checked"}, {"title": "Re-checked"}, None),
]


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def crud_round_trip(api, collection, create, patch, camel_key):
    created = api.ok("POST", collection, create, 201)
    uuid.UUID(created["id"])
    if camel_key:
        assert camel_key in created, created
    item = f"{collection}{created['id']}/"
    assert api.ok("GET", item) == created
    listed = api.ok("GET", collection)
    assert created["id"] in [r["id"] for r in listed["results"]] and listed["count"] >= 1
    updated = api.ok("PATCH", item, patch)
    for key, value in patch.items():
        shown = key if camel_key else snake(key)  # responses are snake_case unless the seed shows camelCase
        assert updated[shown] == value, (shown, updated)
    # PATCH needs at least one field; unknown fields and wrong types are named in the error.
    empty = api.call("PATCH", item, {})
    assert empty.status_code == 400 and "detail" in empty.json()
    bad = api.call("PATCH", item, {"noSuchField": 1})
    assert bad.status_code == 400 and "noSuchField" in bad.json()["errors"]
    missing = api.call("POST", collection, {})
    assert missing.status_code == 400
    assert all(messages == ["This field is required."] for messages in missing.json()["errors"].values())
    assert api.ok("DELETE", item, status=204) is None
    assert api.call("GET", item).status_code == 404


@pytest.mark.parametrize("segment,create,patch,camel_key", DIRECTORY_RESOURCES, ids=[r[0] for r in DIRECTORY_RESOURCES])
def test_directory_resource_crud(world, segment, create, patch, camel_key):
    crud_round_trip(world["api"], f"/directories/{world['d']}/{segment}/", create, patch, camel_key)


@pytest.mark.parametrize("segment,create,patch,camel_key", ENTRY_RESOURCES, ids=[r[0] for r in ENTRY_RESOURCES])
def test_partner_entry_sub_resource_crud(world, entry, segment, create, patch, camel_key):
    crud_round_trip(world["api"], f"/directories/{world['d']}/entries/partners/{entry['id']}/{segment}/", create, patch, camel_key)


def test_app_entry_and_its_callouts(world):
    api, d = world["api"], world["d"]
    app = api.ok("POST", f"/directories/{d}/entries/apps/", {"title": "Slack App", "featured": True}, 201)
    assert app["slug"] == "slack-app" and app["callouts"] == []
    crud_round_trip(api, f"/directories/{d}/entries/apps/{app['id']}/callouts/", {"name": "New"}, {"name": "Old"}, "textColor")
    ordered = api.ok("POST", f"/directories/{d}/entries/apps/{app['id']}/recommended-order/", {"order": 0})
    assert ordered["recommended_order"] == 0
    assert api.ok("PATCH", f"/directories/{d}/entries/apps/{app['id']}/", {"headline": "Chat"})["headline"] == "Chat"
    api.ok("DELETE", f"/directories/{d}/entries/apps/{app['id']}/", status=204)
    assert api.call("GET", f"/directories/{d}/entries/apps/{app['id']}/").status_code == 404


def test_filter_options_and_filter_maps(world):
    api, d = world["api"], world["d"]
    internal = api.ok("POST", f"/directories/{d}/filters/", {"name": "Internal only", "internal": True, "external": False}, 201)
    external = api.ok("POST", f"/directories/{d}/filters/", {"name": "Public", "internal": False, "external": True}, 201)
    option = api.ok("POST", f"/directories/{d}/filters/{external['id']}/options/", {"name": "Retail"}, 201)
    crud_round_trip(api, f"/directories/{d}/filters/{external['id']}/options/", {"name": "Finance"}, {"order": 5}, None)
    ids = lambda path: {r["id"] for r in api.ok("GET", path)["results"]}
    assert internal["id"] in ids(f"/directories/{d}/filters/?internal=true")
    assert external["id"] not in ids(f"/directories/{d}/filters/?internal=true")
    assert external["id"] in ids(f"/directories/{d}/filters/?external=true")
    mapping = api.ok("POST", f"/directories/{d}/filter-maps/", {"filterOption": option["id"], "externalName": "retail", "external": True}, 201)
    assert mapping["id"] in ids(f"/directories/{d}/filter-maps/?external=true")
    crud_round_trip(api, f"/directories/{d}/filter-maps/", {"filterOption": option["id"], "externalName": "x"}, {"externalValue": "y"}, None)
    bogus = api.call("POST", f"/directories/{d}/filter-maps/", {"filterOption": str(uuid.uuid4()), "externalName": "x"})
    assert bogus.status_code == 400 and "filterOption" in bogus.json()["errors"]
    # Deleting a filter deletes its options.
    api.ok("DELETE", f"/directories/{d}/filters/{external['id']}/", status=204)
    assert api.call("GET", f"/directories/{d}/filters/{external['id']}/options/{option['id']}/").status_code == 404


def test_partner_entry_shape_matches_the_seed(world, entry):
    keys = list(entry)
    seed_order = ["id", "href", "title", "headline", "description", "icon", "image", "slug", "custom_slug", "status", "featured",
                  "owner", "website", "location", "call_to_action_url", "call_to_action_label", "external_url", "support_email",
                  "developer_name", "metadata", "award", "use_cases", "callouts", "media", "resources", "special_offers", "clients",
                  "testimonials", "certifications", "verifications", "tracking", "display_on_internal_directory", "tier"]
    assert keys[:len(seed_order)] == seed_order
    assert entry["href"] == f"{BASE}/directories/{world['d']}/entries/partners/{entry['id']}/"
    assert entry["slug"] == "the-best-partner"


def test_partner_entry_create_update_validation_and_slugs(world):
    api, d = world["api"], world["d"]
    first = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Twin", "externalId": "X-1", "callToActionUrl": "https://a.example"}, 201)
    second = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Twin"}, 201)
    assert (first["slug"], second["slug"]) == ("twin", "twin-2")
    assert first["metadata"] == {"external_id": "X-1"} and first["call_to_action_url"] == "https://a.example"
    clash = api.call("PATCH", f"/directories/{d}/entries/partners/{second['id']}/", {"slug": "twin"})
    assert clash.status_code == 400 and "slug" in clash.json()["errors"]
    bad = api.call("POST", f"/directories/{d}/entries/partners/", {"title": 5, "status": "secret", "featured": "yes"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"title", "status", "featured"}
    assert api.call("POST", f"/directories/{d}/entries/partners/", data=b"{not json",
                    headers={"Content-Type": "application/json"}).status_code == 400
    tier = api.call("PATCH", f"/directories/{d}/entries/partners/{first['id']}/", {"tier": str(uuid.uuid4())})
    assert tier.status_code == 400 and "tier" in tier.json()["errors"]
    for e in (first, second):
        api.ok("DELETE", f"/directories/{d}/entries/partners/{e['id']}/", status=204)


def test_integers_out_of_range_or_with_a_fraction_are_refused(world, entry):
    """Integer fields take integers a client can send and get back exactly (+/-(2^53 - 1)): 1e300
    was taken and shown back as 1e+300. Refused with a 400 naming the field, in this API's format,
    on a sub-resource, an entry's inline list and the directory settings; 14.0 is the integer 14."""
    api, d = world["api"], world["d"]
    certifications = f"/directories/{d}/entries/partners/{entry['id']}/certifications/"
    out_of_range = "Ensure this value is an integer from -9007199254740991 to 9007199254740991."
    for number in ("1e300", "1e20", "9223372036854775808", "9223372036854775807", "-9007199254740992"):
        response = api.call("POST", certifications, **raw(f'{{"title": "Cert", "quantity": {number}}}'))
        assert response.status_code == 400 and response.json()["errors"] == {"quantity": [out_of_range]}, (number, response.text)
        response = api.call("PATCH", f"/directories/{d}/settings/", **raw(f'{{"matchmakingPartnerLimit": {number}}}'))
        assert response.status_code == 400 and response.json()["errors"] == {"matchmakingPartnerLimit": [out_of_range]}, response.text
        response = api.call("PATCH", f"/directories/{d}/entries/partners/{entry['id']}/",
                            **raw(f'{{"resources": [{{"title": "Guide", "order": {number}}}]}}'))
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == {"resources": [
            "Item 1: order must be an integer from -9007199254740991 to 9007199254740991."]}, response.text
    response = api.call("POST", certifications, **raw('{"title": "Cert", "quantity": 1.5}'))
    assert response.status_code == 400 and response.json()["errors"] == {"quantity": ["Expected a value of type integer."]}
    assert [c for c in api.ok("GET", certifications)["results"] if c["title"] == "Cert"] == []
    created = api.call("POST", certifications, **raw('{"title": "Whole", "quantity": 14.0}'))
    assert created.status_code == 201 and created.json()["quantity"] == 14 and '"quantity":14,' in created.text.replace(" ", "")
    assert api.ok("GET", f"/directories/{d}/settings/")["matchmaking_partner_limit"] in (2, 3)


def raw(text):
    """A body as written, for numbers Python's json would not write (1e300, 14.0)."""
    return {"data": text, "headers": {"Content-Type": "application/json"}}


def test_entry_listing_filters_and_order(world):
    api, d = world["api"], world["d"]
    tier = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Platinum"}, 201)
    made = [api.ok("POST", f"/directories/{d}/entries/partners/", {"title": f"Listed {n}", "status": "public" if n % 2 else "hidden",
                                                                   "featured": n == 1, "tier": tier["id"]}, 201) for n in range(4)]
    api.ok("POST", f"/directories/{d}/entries/partners/{made[3]['id']}/recommended-order/", {"order": 0})
    listed = api.ok("GET", f"/directories/{d}/entries/partners/?tier={tier['id']}")
    assert [r["id"] for r in listed["results"]][0] == made[3]["id"]
    assert {r["id"] for r in api.ok("GET", f"/directories/{d}/entries/partners/?tier={tier['id']}&status=public")["results"]} == {made[1]["id"], made[3]["id"]}
    assert [r["id"] for r in api.ok("GET", f"/directories/{d}/entries/?featured=true&tier={tier['id']}")["results"]] == [made[1]["id"]]
    everything = api.ok("GET", f"/directories/{d}/entries/?tier={tier['id']}&page_size=3")
    assert everything["count"] == 4 and len(everything["results"]) == 3 and "page=2" in everything["next"]
    assert api.call("GET", f"/directories/{d}/entries/?page=9").status_code == 404
    assert api.call("GET", f"/directories/{d}/entries/?page_size=0").status_code == 400
    assert len(api.ok("GET", f"/directories/{d}/entries/?page_size=5000")["results"]) <= 100
    assert api.call("POST", f"/directories/{d}/entries/partners/{made[0]['id']}/recommended-order/", {"order": -1}).status_code == 400
    for e in made:
        api.ok("DELETE", f"/directories/{d}/entries/partners/{e['id']}/", status=204)


def test_tier_assignment(world):
    api, d = world["api"], world["d"]
    gold = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Gold"}, 201)
    silver = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Silver"}, 201)
    a = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Tiered A", "tier": silver["id"]}, 201)
    b = api.ok("POST", f"/directories/{d}/entries/apps/", {"title": "Tiered B"}, 201)
    page = api.ok("POST", f"/directories/{d}/tiers/{gold['id']}/entries/", {"assign": [a["id"], b["id"]]})
    assert {r["id"] for r in page["results"]} == {a["id"], b["id"]}
    assert api.ok("GET", f"/directories/{d}/tiers/{gold['id']}/")["entriesCount"] == 2
    assert api.ok("GET", f"/directories/{d}/tiers/{silver['id']}/")["entriesCount"] == 0
    assert api.ok("GET", f"/directories/{d}/entries/partners/{a['id']}/")["tier"]["title"] == "Gold"
    page = api.ok("POST", f"/directories/{d}/tiers/{gold['id']}/entries/", {"unassign": [a["id"]]})
    assert [r["id"] for r in page["results"]] == [b["id"]]
    assert api.ok("GET", f"/directories/{d}/entries/partners/{a['id']}/")["tier"] is None
    bogus = api.call("POST", f"/directories/{d}/tiers/{gold['id']}/entries/", {"assign": [str(uuid.uuid4())]})
    assert bogus.status_code == 400 and "assign" in bogus.json()["errors"]
    assert api.call("POST", f"/directories/{d}/tiers/{gold['id']}/entries/", {}).status_code == 400
    # Deleting a tier leaves its entries without one; a default tier is given to new entries.
    api.ok("DELETE", f"/directories/{d}/tiers/{gold['id']}/", status=204)
    assert api.ok("GET", f"/directories/{d}/entries/apps/{b['id']}/")["tier"] is None
    api.ok("PATCH", f"/directories/{d}/tiers/{silver['id']}/", {"default": True})
    c = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Defaulted"}, 201)
    assert c["tier"]["id"] == silver["id"]
    for path in (f"partners/{a['id']}", f"apps/{b['id']}", f"partners/{c['id']}"):
        api.ok("DELETE", f"/directories/{d}/entries/{path}/", status=204)
    api.ok("DELETE", f"/directories/{d}/tiers/{silver['id']}/", status=204)


def test_edit_approval_flow(world):
    api, reader, d = world["api"], world["reader"], world["d"]
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Under review", "headline": "Old"}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    assert api.call("POST", path + "review/approve/").status_code == 409
    held = reader.ok("POST", path + "review/submit/", {"headline": "New", "title": "Renamed"})
    assert held["headline"] == "Old" and held["review"]["status"] == "submitted"
    assert held["review"]["changes"] == {"headline": "New", "title": "Renamed"}
    assert api.ok("GET", path)["headline"] == "Old"  # held apart from the live entry
    assert reader.call("POST", path + "review/submit/", {"headline": "Again"}).status_code == 409
    # The submitting key lacks approve_partner_entries.
    assert reader.call("POST", path + "review/approve/").status_code == 403
    approved = api.ok("POST", path + "review/approve/")
    assert approved["headline"] == "New" and approved["title"] == "Renamed" and approved["review"]["status"] == "approved"
    reader.ok("POST", path + "review/submit/", {"headline": "Rejected text"})
    rejected = api.ok("POST", path + "review/reject/", {"reason": "Too salesy"})
    assert rejected["headline"] == "New" and rejected["review"]["status"] == "rejected" and rejected["review"]["reason"] == "Too salesy"
    reader.ok("POST", path + "review/submit/", {"headline": "Withdrawn"})
    assert reader.ok("POST", path + "review/discard/")["review"] is None
    assert api.call("POST", path + "review/discard/").status_code == 409
    assert api.ok("GET", path)["headline"] == "New"
    api.ok("DELETE", path, status=204)


def test_invites_and_contact_information(world, entry):
    api, d = world["api"], world["d"]
    path = f"/directories/{world['d']}/entries/partners/{entry['id']}/"
    matches = api.ok("GET", path + "invites/organization-matches/")["results"]
    assert [m["id"] for m in matches] == [world["org"]]
    assert api.call("GET", path + "invites/organization/").status_code == 404
    first = api.ok("POST", path + "invites/organization/", {"organization": world["org"]}, 201)
    assert first["status"] == "pending" and first["kind"] == "organization"
    assert api.ok("GET", path + "invites/organization/")["id"] == first["id"]
    assert api.call("POST", path + "invites/organization/", {"organization": str(uuid.uuid4())}).status_code == 400
    made = api.ok("POST", path + "invites/users/", {"emails": ["a@acme.example", "B@acme.example", "a@acme.example"]}, 201)["results"]
    assert sorted(i["email"] for i in made) == ["a@acme.example", "b@acme.example"]
    assert api.ok("POST", path + "invites/users/", {"emails": ["a@acme.example"]}, 201)["results"] == []
    assert api.ok("GET", path + "invites/users/")["count"] == 2
    assert api.call("POST", path + "invites/users/", {"emails": ["not-an-address"]}).status_code == 400
    contact = api.ok("GET", path + "contact-information/")
    assert contact["website"] == "https://www.acme.example/about" and "support_email" in contact


def test_directories_settings_and_forms(world):
    api, d = world["api"], world["d"]
    listed = api.ok("GET", "/directories/")
    assert [r["id"] for r in listed["results"]] == [d]
    assert api.ok("PATCH", f"/directories/{d}/", {"description": "Our partners"})["description"] == "Our partners"
    settings = api.ok("GET", f"/directories/{d}/settings/")
    assert settings["matchmaking_partner_limit"] == 3
    assert api.ok("PATCH", f"/directories/{d}/settings/", {"matchmakingPartnerLimit": 2})["matchmaking_partner_limit"] == 2
    assert api.ok("GET", f"/directories/{d}/branding/")["primary_color"] is None
    assert api.ok("PATCH", f"/directories/{d}/branding/", {"primaryColor": "635BFF"})["primary_color"] == "635BFF"
    assert api.call("PATCH", f"/directories/{d}/branding/", {"logo": "not a url"}).status_code == 400
    assert api.call("PATCH", f"/directories/{d}/settings/", {"matchmakingPartnerLimit": 99}).status_code == 400
    assert api.ok("GET", f"/directories/{d}/forms/contact-requests/active/")["id"] is None
    form = api.ok("POST", f"/directories/{d}/forms/contact-requests/", {
        "name": "Sales", "isActive": True, "fields": [{"name": "budget", "type": "currency", "required": True}]}, 201)
    assert api.ok("GET", f"/directories/{d}/forms/contact-requests/active/")["id"] == form["id"]
    assert api.ok("GET", f"/directories/{d}/forms/contact-requests/default/")["id"] is None  # the built-in one
    # PUT replaces the form whole; activating another form deactivates this one.
    replaced = api.ok("PUT", f"/directories/{d}/forms/contact-requests/{form['id']}/", {"name": "Sales 2", "fields": [{"name": "note", "type": "text"}]})
    assert (replaced["name"], replaced["is_active"], [f["name"] for f in replaced["fields"]]) == ("Sales 2", False, ["note"])
    assert api.call("PUT", f"/directories/{d}/forms/contact-requests/{form['id']}/", {"name": "No fields"}).status_code == 400
    api.ok("PUT", f"/directories/{d}/forms/contact-requests/{form['id']}/", {"name": "Sales", "isActive": True, "fields": [{"name": "n", "type": "text"}]})
    assert form["id"] in [f["id"] for f in api.ok("GET", f"/directories/{d}/forms/")["results"]]
    assert api.ok("GET", f"/directories/{d}/forms/contact-requests/")["count"] == 1
    assert "USD" in [c["code"] for c in api.ok("GET", f"/directories/{d}/forms/currency-options/")["results"]]
    bad = api.call("POST", f"/directories/{d}/forms/contact-requests/", {"name": "x", "fields": [{"name": "a", "type": "hologram"}]})
    assert bad.status_code == 400 and "fields" in bad.json()["errors"]
    api.ok("DELETE", f"/directories/{d}/forms/contact-requests/{form['id']}/", status=204)
    assert api.ok("GET", f"/directories/{d}/forms/contact-requests/")["count"] == 0


def test_contact_requests(world, entry):
    api, d = world["api"], world["d"]
    body = {"entry": entry["id"], "firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "message": "Hi"}
    made = api.ok("POST", f"/directories/{d}/contact-requests/", body, 201)
    assert made["first_name"] == "Ana" and made["entry"] == entry["id"]
    assert api.ok("GET", f"/directories/{d}/contact-requests/{made['id']}/") == made
    assert made["id"] in [r["id"] for r in api.ok("GET", f"/directories/{d}/contact-requests/?entry={entry['id']}")["results"]]
    bad_email = api.call("POST", f"/directories/{d}/contact-requests/", dict(body, email="nope"))
    assert bad_email.status_code == 400 and set(bad_email.json()["errors"]) == {"email"}
    unknown_entry = api.call("POST", f"/directories/{d}/contact-requests/", dict(body, entry=str(uuid.uuid4())))
    assert unknown_entry.status_code == 400 and set(unknown_entry.json()["errors"]) == {"entry"}
    form = api.ok("POST", f"/directories/{d}/forms/contact-requests/", {"name": "F", "fields": [{"name": "budget", "type": "number", "required": True}]}, 201)
    missing = api.call("POST", f"/directories/{d}/contact-requests/", dict(body, form=form["id"]))
    assert missing.status_code == 400 and "fields" in missing.json()["errors"]
    api.ok("POST", f"/directories/{d}/contact-requests/", dict(body, form=form["id"], fields={"budget": 1000}), 201)


def test_matchmaking(world):
    api, d = world["api"], world["d"]
    f = api.ok("POST", f"/directories/{d}/filters/", {"name": "Region"}, 201)
    emea = api.ok("POST", f"/directories/{d}/filters/{f['id']}/options/", {"name": "EMEA"}, 201)
    apac = api.ok("POST", f"/directories/{d}/filters/{f['id']}/options/", {"name": "APAC"}, 201)
    matching = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "EMEA partner", "status": "public",
                                                                      "userAssignedFilterOptions": [emea["id"]]}, 201)
    api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "APAC partner", "status": "public", "userAssignedFilterOptions": [apac["id"]]}, 201)
    request = api.ok("POST", f"/directories/{d}/matchmaking-requests/", {
        "firstName": "Li", "lastName": "Wu", "email": "li@example.com", "filterOptions": [emea["id"]]}, 201)
    assert request["partners"] == [matching["id"]] and request["status"] == "new"
    assert api.ok("GET", f"/directories/{d}/matchmaking-requests/{request['id']}/") == request
    assert request["id"] in [r["id"] for r in api.ok("GET", f"/directories/{d}/matchmaking-requests/")["results"]]
    assert request["id"] in [r["id"] for r in api.ok("GET", "/matchmaking-requests/")["results"]]
    assigned = api.ok("GET", f"/directories/{d}/matchmaking-requests/partners/")["results"]
    assert {"id": matching["id"], "title": "EMEA partner", "requests": 1} in assigned
    owned = api.ok("POST", f"/directories/{d}/matchmaking-requests/{request['id']}/owner/", {"owner": "staff@acme.example"})
    assert owned["owner"] == "staff@acme.example" and owned["status"] == "assigned"
    replaced = api.ok("PUT", f"/directories/{d}/matchmaking-requests/{request['id']}/partners/", {"partners": []})
    assert replaced["partners"] == []
    assert api.call("PUT", f"/directories/{d}/matchmaking-requests/{request['id']}/partners/", {"partners": [str(uuid.uuid4())]}).status_code == 400
    assert world["other"].call("GET", f"/directories/{d}/matchmaking-requests/{request['id']}/").status_code == 404
    assert request["id"] not in [r["id"] for r in world["other"].ok("GET", "/matchmaking-requests/")["results"]]


def test_reviews_approve_and_decline(world, entry):
    api, reader, d = world["api"], world["reader"], world["d"]
    review = api.ok("POST", f"/directories/{d}/reviews/", {"entry": entry["id"], "title": "Great", "summary": "x" * 150,
                                                            "firstName": "Jo", "rating": 5}, 201)
    assert list(review) == ["id", "entry", "entryType", "title", "company", "summary", "shortSummary", "firstName", "lastName",
                            "email", "rating", "created", "status", "statusDisplay", "approvedBy", "declinedBy"]
    assert review["entry"] == {"id": entry["id"], "owner": None, "title": entry["title"]}
    assert (review["status"], review["statusDisplay"], review["entryType"]) == ("P", "Pending", "partner")
    assert len(review["shortSummary"]) == 100
    path = f"/directories/{d}/reviews/{review['id']}/"
    approved = reader.ok("PATCH", path, {"status": "A"})
    assert approved["approvedBy"] and approved["declinedBy"] is None and approved["statusDisplay"] == "Approved"
    # A user-like object, as the real API shows (keys carry no person: the key's organization).
    assert approved["approvedBy"] == {"type": "api_key", "id": f"api-key:{world['org']}", "organization": world["org"]}
    declined = reader.ok("PATCH", path, {"status": "D"})
    assert declined["declinedBy"] and declined["approvedBy"] is None
    assert reader.call("PATCH", path, {"status": "X"}).status_code == 400
    assert reader.call("PATCH", path, {"rating": 9}).status_code == 400
    assert api.call("POST", f"/directories/{d}/reviews/", {"entry": entry["id"], "title": "t", "summary": "s", "rating": 0}).status_code == 400
    assert api.ok("GET", path)["status"] == "D"
    assert review["id"] in [r["id"] for r in api.ok("GET", f"/directories/{d}/reviews/?status=D")["results"]]


def test_authentication_and_permissions(world, entry):
    api, reader, d = world["api"], world["reader"], world["d"]
    missing = api.call("GET", f"/directories/{d}/", key="")
    assert missing.status_code == 401 and missing.json() == {"detail": "Invalid or missing API key."}
    assert api.call("GET", f"/directories/{d}/", key="ptk_unknown").status_code == 401
    assert api.call("GET", f"/directories/{d}/", key=f"Api-Key {api.key}").status_code == 200
    # The reader key may read entries but not create them or read tiers.
    assert reader.call("GET", f"/directories/{d}/entries/partners/{entry['id']}/").status_code == 200
    denied = reader.call("POST", f"/directories/{d}/entries/partners/", {"title": "No"})
    assert denied.status_code == 403 and "generic_directory:create_partner_entries" in denied.json()["detail"]
    assert reader.call("GET", f"/directories/{d}/tiers/").status_code == 403
    # Unknown permission names are refused when a key is made.
    result = subprocess.run([str(BINARY), "directory", "key", "--organization", world["org"], "--permissions", "generic_directory:fly",
                             *world["stack"].store_args], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown permission" in result.stderr


CROSS_ORG_PATHS = [
    ("GET", "/directories/{d}/"), ("PATCH", "/directories/{d}/"), ("GET", "/directories/{d}/settings/"),
    ("GET", "/directories/{d}/callouts/"), ("POST", "/directories/{d}/callouts/"), ("GET", "/directories/{d}/tiers/"),
    ("GET", "/directories/{d}/entries/"), ("GET", "/directories/{d}/entries/partners/"),
    ("GET", "/directories/{d}/entries/partners/{e}/"), ("PATCH", "/directories/{d}/entries/partners/{e}/"),
    ("DELETE", "/directories/{d}/entries/partners/{e}/"), ("GET", "/directories/{d}/entries/partners/{e}/callouts/"),
    ("POST", "/directories/{d}/entries/partners/{e}/review/submit/"), ("GET", "/directories/{d}/entries/partners/{e}/contact-information/"),
    ("GET", "/directories/{d}/forms/"), ("GET", "/directories/{d}/contact-requests/"), ("GET", "/directories/{d}/reviews/"),
    ("GET", "/directories/{d}/matchmaking-requests/"),
]


@pytest.mark.parametrize("method,template", CROSS_ORG_PATHS, ids=[f"{m} {p}" for m, p in CROSS_ORG_PATHS])
def test_another_organization_gets_404_everywhere(world, entry, method, template):
    response = world["other"].call(method, template.format(d=world["d"], e=entry["id"]), {"title": "x", "name": "x"})
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    # And the other organization's own entry path cannot be reached through our directory either.
    assert world["api"].call("GET", f"/directories/{world['other_d']}/").status_code == 404


def test_unknown_paths_and_methods_answer_in_this_family_format(world):
    api, d = world["api"], world["d"]
    assert api.call("GET", "/nothing/here/").json() == {"detail": "Not found."}
    response = api.call("PUT", f"/directories/{d}/callouts/")
    assert response.status_code == 405 and "detail" in response.json()


def test_concurrent_creates_are_all_kept(world):
    api, d = world["api"], world["d"]
    statuses = []
    def create(n):
        statuses.append(api.call("POST", f"/directories/{d}/badges/", {"title": f"Badge {n}"}).status_code)
    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert statuses.count(201) == 20
    titles = {r["title"] for r in api.ok("GET", f"/directories/{d}/badges/?page_size=100")["results"]}
    assert {f"Badge {n}" for n in range(20)} <= titles


def test_seed_update_example_with_inline_lists(world):
    """The seed's "Update a partner entry" body, with ids of this directory: inline lists replace the
    entry's sub-resources (known ids updated, others created, missing ones deleted)."""
    api, d = world["api"], world["d"]
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Seed example"}, 201)
    verification = api.ok("POST", f"/directories/{d}/verifications/", {"title": "A Verification"}, 201)
    tier = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Tier Test", "order": 3}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    kept = api.ok("POST", path + "resources/", {"title": "Old resource"}, 201)
    dropped = api.ok("POST", path + "resources/", {"title": "Dropped"}, 201)
    body = {
        "id": e["id"], "title": "The Best Partner", "headline": "The App headline.", "type": "string", "slug": "the-best-partner-seed",
        "customSlug": "string", "status": "hidden", "website": "http://example.com", "featured": True,
        "description": "string", "integrationDescription": "string", "location": "string",
        "callToActionUrl": "http://example.com", "callToActionLabel": "string",
        "internalPointOfContactCtaUrl": "http://example.com", "internalPointOfContactCtaLabel": "string",
        "internalChannelContactCtaUrl": "http://example.com", "internalChannelContactCtaLabel": "string",
        "externalUrl": "http://example.com", "externalId": "string",
        "resources": [{"title": "Renamed", "file": "string", "url": "http://example.com", "order": 0, "id": kept["id"]},
                      {"title": "Entry Resource", "url": "http://example.com", "order": 1}],
        "verifications": [{"id": str(uuid.uuid4()), "title": "string", "verification": verification["id"]}],
        "media": [{"title": "string", "description": "string", "order": 0, "pdfFileThumbnailUrl": "http://example.com/t.png",
                   "url": "http://example.com", "file": "http://example.com", "type": "I"}],
        "callouts": [{"order": 0, "name": "string", "textColor": "635BFF", "backgroundColor": "E8E6FF"}],
        "keywords": [{"name": "string"}],
        "supportEmail": "support@example.com", "developerName": "string", "displayOnInternalDirectory": True,
        "internalDescription": "string", "tier": tier["id"],
    }
    updated = api.ok("PATCH", path, body)
    assert updated["title"] == "The Best Partner" and updated["metadata"] == {"external_id": "string"}
    assert [(r["id"], r["title"]) for r in updated["resources"]][0] == (kept["id"], "Renamed")
    assert [r["title"] for r in updated["resources"]] == ["Renamed", "Entry Resource"]
    assert api.call("GET", path + f"resources/{dropped['id']}/").status_code == 404
    assert [v["title"] for v in updated["verifications"]] == ["string"]
    assert updated["media"][0]["pdfFileThumbnailUrl"] == "http://example.com/t.png"
    assert updated["callouts"][0]["textColor"] == "635BFF"
    assert [k["name"] for k in api.ok("GET", path + "keywords/")["results"]] == ["string"]
    assert updated["tier"]["title"] == "Tier Test" and updated["tier"]["entriesCount"] == 1
    # An item that is not a valid sub-resource is named with its position; nothing is written.
    bad = api.call("PATCH", path, {"title": "Not applied", "resources": [{"url": "http://example.com"}]})
    assert bad.status_code == 400 and bad.json()["errors"]["resources"] == ["Item 1: title is required."]
    assert api.ok("GET", path)["title"] == "The Best Partner"
    # Another record's id in the body is not this record's: refused.
    assert api.call("PATCH", path, {"id": str(uuid.uuid4()), "title": "x"}).status_code == 400
    api.ok("DELETE", path, status=204)
    assert api.call("GET", path + f"resources/{kept['id']}/").status_code == 404


def test_public_listing_shows_only_public_entries_without_a_key(world):
    api, d, stack = world["api"], world["d"], world["stack"]
    slug = api.ok("GET", f"/directories/{d}/")["slug"]
    shown = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Shown", "status": "public", "internalDescription": "secret"}, 201)
    hidden = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Hidden", "status": "hidden"}, 201)
    url = f"/api/directory/public/v1alpha/directories/{slug}/entries/?page_size=100"
    listed = stack.get(url)  # no Authorization header at all
    assert listed.status_code == 200
    ids = {r["id"] for r in listed.json()["results"]}
    assert shown["id"] in ids and hidden["id"] not in ids
    assert "secret" not in listed.text and "internal_description" not in listed.text
    assert stack.get(f"/api/directory/public/v1alpha/directories/no-such-directory/entries/").status_code == 404
    api.ok("PATCH", f"/directories/{d}/settings/", {"publicListing": False})
    assert stack.get(url).json() == {"detail": "Not found."}
    api.ok("PATCH", f"/directories/{d}/settings/", {"publicListing": True})
    for e in (shown, hidden):
        api.ok("DELETE", f"/directories/{d}/entries/partners/{e['id']}/", status=204)


def test_directory_slugs_are_unique_across_organizations(world):
    stack, api = world["stack"], world["api"]
    other_org = admin(stack, "organization", "--name", "Copycat")[0]
    twin = admin(stack, "create", "--organization", other_org, "--name", "Acme Partners")[0]
    twin_key = admin(stack, "key", "--organization", other_org, "--permissions", "generic_directory:*")[0]
    twin_slug = Client(stack, twin_key).ok("GET", f"/directories/{twin}/")["slug"]
    ours = api.ok("GET", f"/directories/{world['d']}/")["slug"]
    assert ours == "acme-partners" and twin_slug == "acme-partners-2"
    clash = Client(stack, twin_key).call("PATCH", f"/directories/{twin}/", {"slug": ours})
    assert clash.status_code == 400 and "slug" in clash.json()["errors"]
    assert Client(stack, twin_key).call("PATCH", f"/directories/{twin}/", {"slug": "Bad Slug"}).status_code == 400


def test_deleting_a_referenced_record_leaves_no_dangling_ids(world):
    api, d = world["api"], world["d"]
    f = api.ok("POST", f"/directories/{d}/filters/", {"name": "Size"}, 201)
    small = api.ok("POST", f"/directories/{d}/filters/{f['id']}/options/", {"name": "Small"}, 201)
    large = api.ok("POST", f"/directories/{d}/filters/{f['id']}/options/", {"name": "Large"}, 201)
    badge = api.ok("POST", f"/directories/{d}/badges/", {"title": "Gone soon"}, 201)
    verification = api.ok("POST", f"/directories/{d}/verifications/", {"title": "Gone soon"}, 201)
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Referrer", "userAssignedFilterOptions": [small["id"], large["id"]]}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    entry_badge = api.ok("POST", path + "badges/", {"badge": badge["id"]}, 201)
    entry_verification = api.ok("POST", path + "verifications/", {"title": "Checked", "verification": verification["id"]}, 201)
    mapping = api.ok("POST", f"/directories/{d}/filter-maps/", {"filterOption": small["id"], "externalName": "s"}, 201)

    api.ok("DELETE", f"/directories/{d}/filters/{f['id']}/options/{small['id']}/", status=204)
    assert api.ok("GET", path)["user_assigned_filter_options"] == [large["id"]]
    assert api.call("GET", f"/directories/{d}/filter-maps/{mapping['id']}/").status_code == 404  # it required the option
    api.ok("DELETE", f"/directories/{d}/badges/{badge['id']}/", status=204)
    assert api.call("GET", path + f"badges/{entry_badge['id']}/").status_code == 404
    api.ok("DELETE", f"/directories/{d}/verifications/{verification['id']}/", status=204)
    assert api.ok("GET", path + f"verifications/{entry_verification['id']}/")["verification"] is None
    # Deleting the filter takes its remaining options, and they leave the entry too.
    api.ok("DELETE", f"/directories/{d}/filters/{f['id']}/", status=204)
    assert api.ok("GET", path)["user_assigned_filter_options"] == []
    api.ok("DELETE", path, status=204)


def test_concurrent_read_modify_write_with_if_match_loses_no_update(world):
    """Each client reads the entry, adds one to the number in its title and writes it back with
    If-Match; a 412 means another client got there first: read again. No increment is lost."""
    api, d = world["api"], world["d"]
    created = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "n=0", "status": "public"}, 201)
    path = f"/directories/{d}/entries/partners/{created['id']}/"
    clients, increments = 3, 25
    conflicts = []

    def client():
        done = refused = 0
        while done < increments:
            current = api.call("GET", path)
            number = int(current.json()["title"].split("=")[1])
            written = api.call("PATCH", path, {"title": f"n={number + 1}"}, headers={"If-Match": current.headers["ETag"]})
            if written.status_code == 412:
                refused += 1
                continue
            assert written.status_code == 200, written.text
            done += 1
        conflicts.append(refused)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.ok("GET", path)["title"] == f"n={clients * increments}"
    assert sum(conflicts) > 0, "the clients never collided: the test did not test anything"


def test_an_idempotency_key_makes_a_retried_create_happen_once(world):
    api, d = world["api"], world["d"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"title": "Once Only", "status": "public"}
    first = api.call("POST", f"/directories/{d}/entries/partners/", body, headers=key)
    retried = api.call("POST", f"/directories/{d}/entries/partners/", body, headers=key)
    assert first.status_code == retried.status_code == 201 and retried.json() == first.json()
    other = api.call("POST", f"/directories/{d}/entries/partners/", {**body, "title": "Another"}, headers=key)
    assert other.status_code == 422, other.text
    stranger = world["other"].call("POST", f"/directories/{world['other_d']}/entries/partners/", body, headers=key)
    assert stranger.status_code == 201 and stranger.json()["id"] != first.json()["id"], "keys are per credential"


# Issue 17: every setting and rule takes effect.

def fresh_directory(world, name):
    """A directory of our organization of its own, so a test's settings touch no other test."""
    return admin(world["stack"], "create", "--organization", world["org"], "--name", name)[0]


def editor_key(world):
    """A key that may edit partner entries and their sub-resources but not approve edits."""
    return Client(world["stack"], admin(world["stack"], "key", "--organization", world["org"], "--permissions",
                                        "generic_directory:read_partner_entries,generic_directory:update_partner_entries,"
                                        "generic_directory:create_partner_entries")[0])


def test_require_edit_approval_holds_the_edits_of_keys_that_cannot_approve(world):
    """With require_edit_approval on, a key without approve_partner_entries cannot change the live
    entry: its PATCH is held for review (202) and the public listing does not change until approved."""
    api, stack = world["api"], world["stack"]
    d = fresh_directory(world, "Approval Required")
    editor = editor_key(world)
    api.ok("PATCH", f"/directories/{d}/settings/", {"requireEditApproval": True})
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Hidden one", "status": "hidden"}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    public = f"/api/directory/public/v1alpha/directories/{api.ok('GET', f'/directories/{d}/')['slug']}/entries/"

    held = editor.call("PATCH", path, {"status": "public", "headline": "Now public"})
    assert held.status_code == 202, held.text
    assert held.json()["status"] == "hidden" and held.json()["review"]["status"] == "submitted"
    assert held.json()["review"]["changes"] == {"status": "public", "headline": "Now public"}
    assert api.ok("GET", path)["status"] == "hidden"
    assert e["id"] not in [r["id"] for r in stack.get(public).json()["results"]]
    assert editor.call("PATCH", path, {"headline": "Again"}).status_code == 409  # one edit waits at a time
    # Sub-resources of the live entry are not a way around it.
    refused = editor.call("POST", path + "callouts/", {"name": "Sneaky"})
    assert refused.status_code == 403 and "approve_partner_entries" in refused.json()["detail"]
    assert api.ok("GET", path + "callouts/")["count"] == 0
    published = editor.call("POST", f"/directories/{d}/entries/partners/", {"title": "Straight to public", "status": "public"})
    assert published.status_code == 403 and "review/submit/" in published.json()["detail"]
    assert editor.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Starts hidden"}, 201)["status"] == "hidden"
    moved = editor.call("POST", path + "recommended-order/", {"order": 0})
    assert moved.status_code == 403 and "review/submit/" in moved.json()["detail"]
    assert api.ok("GET", path)["recommended_order"] is None

    # Nor is moving it to another tier, for a key that may assign tiers but not approve edits.
    tier = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Featured"}, 201)
    tierer = Client(stack, admin(stack, "key", "--organization", world["org"], "--permissions",
                                 "generic_directory:read_tiers,generic_directory:update_tiers")[0])
    assigned = tierer.call("POST", f"/directories/{d}/tiers/{tier['id']}/entries/", {"assign": [e["id"]]})
    assert assigned.status_code == 403 and "review/submit/" in assigned.json()["detail"]
    assert api.ok("GET", path)["tier"] is None or api.ok("GET", path)["tier"]["id"] != tier["id"]

    approved = api.ok("POST", path + "review/approve/")
    assert approved["status"] == "public" and approved["headline"] == "Now public"
    assert e["id"] in [r["id"] for r in stack.get(public).json()["results"]]
    # A key that may approve edits changes the entry at once; with the setting off, so does any key.
    assert api.ok("PATCH", path, {"headline": "Staff edit"})["headline"] == "Staff edit"
    api.ok("PATCH", f"/directories/{d}/settings/", {"requireEditApproval": False})
    assert editor.ok("PATCH", path, {"headline": "Direct"})["headline"] == "Direct"
    assert editor.ok("POST", path + "callouts/", {"name": "Fine now"}, 201)["name"] == "Fine now"


def test_organization_matches_never_name_another_tenant(world):
    """The invite matches were every organization with the entry website's domain: any tenant could
    learn other tenants' ids and names by setting a website. Now only organizations the key's own
    directory already knows are matched."""
    api, d = world["api"], world["d"]
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Probe", "website": "https://other.example"}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    response = api.ok("GET", path + "invites/organization-matches/")
    assert response["results"] == [], response
    api.ok("DELETE", path, status=204)


def test_matchmaking_enabled_false_refuses_new_requests(world):
    api = world["api"]
    d = fresh_directory(world, "No Matchmaking")
    api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Would match", "status": "public"}, 201)
    api.ok("PATCH", f"/directories/{d}/settings/", {"matchmakingEnabled": False})
    body = {"firstName": "Li", "lastName": "Wu", "email": "li@example.com"}
    refused = api.call("POST", f"/directories/{d}/matchmaking-requests/", body)
    assert refused.status_code == 403, refused.text
    assert "matchmaking" in refused.json()["detail"] and set(refused.json()) == {"detail"}
    assert api.ok("GET", f"/directories/{d}/matchmaking-requests/")["count"] == 0
    api.ok("PATCH", f"/directories/{d}/settings/", {"matchmakingEnabled": True})
    bad = api.call("POST", f"/directories/{d}/matchmaking-requests/", dict(body, email="nope", filterOptions=[str(uuid.uuid4())]))
    assert set(bad.json()["errors"]) == {"email", "filterOptions"}, bad.text  # every problem at once
    assert len(api.ok("POST", f"/directories/{d}/matchmaking-requests/", body, 201)["partners"]) == 1


def test_contact_requests_answer_the_active_form_when_none_is_named(world):
    api = world["api"]
    d = fresh_directory(world, "Form Rules")
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Contacted"}, 201)
    url = f"/directories/{d}/contact-requests/"
    base = {"entry": e["id"], "firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com"}
    # The built-in form asks nothing beyond the request's own fields.
    stray = api.call("POST", url, dict(base, fields={"color": "red"}))
    assert stray.status_code == 400 and stray.json()["errors"] == {
        "fields": ['"color" is not a field of the form "Contact request".']}, stray.text
    form = api.ok("POST", f"/directories/{d}/forms/contact-requests/", {"name": "Sales", "isActive": True, "fields": [
        {"name": "budget", "type": "currency", "required": True},
        {"name": "size", "type": "select", "options": ["S", "L"]},
        {"name": "agree", "type": "checkbox"},
        {"name": "seats", "type": "number"},
        {"name": "company", "type": "text", "required": True}]}, 201)
    missing = api.call("POST", url, base)
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"fields": ['The form field "budget" is required.'],
                                        "company": ['The form field "company" is required.']}, missing.text
    wrong = api.call("POST", url, dict(base, company="Acme", fields={
        "budget": "a lot", "size": "XL", "agree": "yes", "seats": "ten", "color": "red"}))
    assert wrong.status_code == 400
    messages = wrong.json()["errors"]["fields"]
    assert len(messages) == 5 and all(any(name in m for m in messages) for name in ("budget", "size", "agree", "seats", "color")), messages
    # With the request's own problems, all at once.
    together = api.call("POST", url, dict(base, email="nope"))
    assert set(together.json()["errors"]) == {"email", "fields", "company"}, together.text
    bad_code = api.call("POST", url, dict(base, company="Acme", fields={"budget": {"amount": 10, "currency": "ZZZ"}}))
    assert bad_code.status_code == 400 and "currency-options" in bad_code.json()["errors"]["fields"][0]
    made = api.ok("POST", url, dict(base, company="Acme", fields={
        "budget": {"amount": 5000, "currency": "EUR"}, "size": "L", "agree": True, "seats": 12}), 201)
    assert made["form"] == form["id"] and made["fields"]["size"] == "L"
    assert api.ok("POST", url, dict(base, company="Acme", fields={"budget": 100}), 201)["form"] == form["id"]


def test_form_field_definitions_are_validated(world):
    api = world["api"]
    d = fresh_directory(world, "Form Definitions")
    url = f"/directories/{d}/forms/contact-requests/"
    bad = api.call("POST", url, {"name": "Evil", "fields": [
        {"name": "a", "type": "text", "onload": "<script>"},
        {"name": "b", "type": "text", "required": "yes"},
        {"name": "c", "type": "select"},
        {"name": "d", "type": "text", "options": ["x"]}]})
    assert bad.status_code == 400, bad.text
    assert bad.json()["errors"]["fields"] == [
        'Field 1: "onload" is not a property of a form field (name, label, type, required, options).',
        'Field 2: "required" must be true or false.',
        "Field 3: a select field needs at least one option.",
        'Field 4: "options" are only for select fields.']
    assert api.ok("GET", url)["count"] == 0  # nothing stored
    made = api.ok("POST", url, {"name": "Good", "fields": [{"name": "size", "type": "select", "options": ["S", "L"]}]}, 201)
    assert made["fields"] == [{"name": "size", "label": "size", "type": "select", "required": False, "options": ["S", "L"]}]
    api.ok("DELETE", url + f"{made['id']}/", status=204)


def test_one_default_tier_at_a_time(world):
    api = world["api"]
    d = fresh_directory(world, "Tier Defaults")
    gold = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Gold", "default": True}, 201)
    silver = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Silver", "default": True}, 201)
    defaults = lambda: [t["title"] for t in api.ok("GET", f"/directories/{d}/tiers/")["results"] if t["default"]]
    assert defaults() == ["Silver"]
    assert api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "New A"}, 201)["tier"]["id"] == silver["id"]
    api.ok("PATCH", f"/directories/{d}/tiers/{gold['id']}/", {"default": True})
    assert defaults() == ["Gold"]
    assert api.ok("POST", f"/directories/{d}/entries/apps/", {"title": "New B"}, 201)["tier"]["id"] == gold["id"]


def test_deleted_entries_and_options_leave_requests(world):
    """Matchmaking requests drop deleted filter options and partner entries; contact requests go
    with the entry they were sent to (the entry is required), as reviews do."""
    api = world["api"]
    d = fresh_directory(world, "Dangling")
    f = api.ok("POST", f"/directories/{d}/filters/", {"name": "Region"}, 201)
    emea = api.ok("POST", f"/directories/{d}/filters/{f['id']}/options/", {"name": "EMEA"}, 201)
    apac = api.ok("POST", f"/directories/{d}/filters/{f['id']}/options/", {"name": "APAC"}, 201)
    gone = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Gone", "status": "public",
                                                                  "userAssignedFilterOptions": [emea["id"]]}, 201)
    kept = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Kept", "status": "public",
                                                                  "userAssignedFilterOptions": [emea["id"], apac["id"]]}, 201)
    request = api.ok("POST", f"/directories/{d}/matchmaking-requests/", {
        "firstName": "Li", "lastName": "Wu", "email": "li@example.com", "filterOptions": [emea["id"], apac["id"]]}, 201)
    assert set(request["partners"]) == {gone["id"], kept["id"]}
    contact = api.ok("POST", f"/directories/{d}/contact-requests/", {
        "entry": gone["id"], "firstName": "A", "lastName": "B", "email": "a@example.com"}, 201)
    form = api.ok("POST", f"/directories/{d}/forms/contact-requests/", {"name": "F", "fields": [{"name": "n", "type": "text"}]}, 201)
    named = api.ok("POST", f"/directories/{d}/contact-requests/", {
        "entry": kept["id"], "form": form["id"], "firstName": "A", "lastName": "B", "email": "a@example.com"}, 201)

    api.ok("DELETE", f"/directories/{d}/filters/{f['id']}/options/{emea['id']}/", status=204)
    api.ok("DELETE", f"/directories/{d}/entries/partners/{gone['id']}/", status=204)
    api.ok("DELETE", f"/directories/{d}/forms/contact-requests/{form['id']}/", status=204)
    shown = api.ok("GET", f"/directories/{d}/matchmaking-requests/{request['id']}/")
    assert shown["filter_options"] == [apac["id"]] and shown["partners"] == [kept["id"]]
    assert {"id": gone["id"], "title": "Gone", "requests": 1} not in api.ok("GET", f"/directories/{d}/matchmaking-requests/partners/")["results"]
    assert api.call("GET", f"/directories/{d}/contact-requests/{contact['id']}/").status_code == 404
    assert api.ok("GET", f"/directories/{d}/contact-requests/{named['id']}/")["form"] is None


@pytest.fixture(scope="module")
def validation(world):
    """A directory for the validation rules, with one partner entry titled "Shared"."""
    d = fresh_directory(world, "Validation")
    e = world["api"].ok("POST", f"/directories/{d}/entries/partners/", {"title": "Shared"}, 201)
    return {"d": d, "partners": f"/directories/{d}/entries/partners/", "apps": f"/directories/{d}/entries/apps/", "e": e}


def test_slug_rule_message_and_null_slug(world, validation):
    api, partners, e = world["api"], validation["partners"], validation["e"]
    slug_rule = 'Enter a valid slug: lowercase letters, digits and single hyphens (e.g. "the-best-partner").'
    for bad in ("Bad Slug", "UPPER", "two--hyphens", "-edge", ""):
        response = api.call("PATCH", partners + f"{e['id']}/", {"slug": bad})
        assert response.status_code == 400 and response.json()["errors"] == {"slug": [slug_rule]}, (bad, response.text)
    null = api.call("PATCH", partners + f"{e['id']}/", {"slug": None})
    assert null.status_code == 400 and null.json()["errors"] == {"slug": ["This field may not be null."]}
    assert api.ok("PATCH", partners + f"{e['id']}/", {"slug": "shared"})["slug"] == "shared"


def test_partner_and_app_entries_share_the_directory_slugs(world, validation):
    api, apps = world["api"], validation["apps"]
    clash = api.call("POST", apps, {"title": "Other", "slug": "shared", "website": "nope"})
    assert clash.status_code == 400 and "already exists" in clash.json()["errors"]["slug"][0], clash.text
    assert set(clash.json()["errors"]) == {"slug", "website"}  # with the body's other problems
    made = api.ok("POST", apps, {"title": "Shared"}, 201)
    assert made["slug"] == "shared-2"
    api.ok("DELETE", apps + f"{made['id']}/", status=204)


def test_bad_urls_and_emails_name_the_rule_and_every_problem_comes_at_once(world, validation):
    api, partners = world["api"], validation["partners"]
    bad = api.call("POST", partners, {"title": 5, "website": "not a url", "supportEmail": "nope", "tier": str(uuid.uuid4()),
                                      "status": "secret"})
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert set(errors) == {"title", "website", "supportEmail", "tier", "status"}, errors
    assert errors["website"] == ["Enter a valid URL (http:// or https:// and a host name)."]
    assert errors["supportEmail"] == ["Enter a valid email address (name@example.com)."]
    assert errors["status"] == ['"secret" is not a valid choice: use one of hidden, public.']
    callout = api.call("POST", f"/directories/{validation['d']}/badges/", {"title": 1, "image": "ftp://x"})
    assert callout.json()["errors"]["image"] == ["Enter a valid URL (http:// or https:// and a host name)."]


@pytest.mark.parametrize("path,query,name", [
    ("entries/partners/", "status=pubic", "status"), ("entries/partners/", "featured=yes", "featured"),
    ("entries/partners/", "tier=gold", "tier"), ("entries/partners/", "filter_option=x", "filter_option"),
    ("entries/", "type=partners", "type"), ("entries/apps/", "status=Public", "status"),
    ("reviews/", "status=X", "status"), ("filters/", "internal=maybe", "internal"),
])
def test_misspelt_filter_values_are_a_400_not_an_empty_page(world, validation, path, query, name):
    response = world["api"].call("GET", f"/directories/{validation['d']}/{path}?{query}")
    assert response.status_code == 400 and list(response.json()["errors"]) == [name], response.text


def test_entry_type_filter_names_its_choices(world, validation):
    response = world["api"].call("GET", f"/directories/{validation['d']}/entries/?type=partners")
    assert response.json()["errors"] == {"type": ['"partners" is not a valid choice: use one of partner, app.']}


def test_default_currency_is_a_code_the_currency_options_offer(world, validation):
    api, d = world["api"], validation["d"]
    codes = [c["code"] for c in api.ok("GET", f"/directories/{d}/forms/currency-options/")["results"]]
    zzz = api.call("PATCH", f"/directories/{d}/settings/", {"defaultCurrency": "ZZZ", "matchmakingPartnerLimit": 50})
    assert zzz.status_code == 400 and all(code in zzz.json()["errors"]["defaultCurrency"][0] for code in codes), zzz.text
    assert zzz.json()["errors"]["matchmakingPartnerLimit"] == ["Ensure this value is between 1 and 20."]
    assert api.ok("PATCH", f"/directories/{d}/settings/", {"defaultCurrency": "EUR"})["default_currency"] == "EUR"


def test_personal_data_can_be_erased_and_the_erasure_is_audited(world):
    api, other = world["api"], world["other"]
    d = fresh_directory(world, "Erasure")
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Erased from", "status": "public"}, 201)
    person = {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com"}
    made = {
        "contact_request": ("contact-requests", api.ok("POST", f"/directories/{d}/contact-requests/", dict(person, entry=e["id"]), 201)),
        "matchmaking_request": ("matchmaking-requests", api.ok("POST", f"/directories/{d}/matchmaking-requests/", person, 201)),
        "review": ("reviews", api.ok("POST", f"/directories/{d}/reviews/", {"entry": e["id"], "title": "t", "summary": "s",
                                                                             "rating": 4, "email": "ana@example.com"}, 201)),
    }
    for resource, (segment, record) in made.items():
        path = f"/directories/{d}/{segment}/{record['id']}/"
        assert other.call("DELETE", path).status_code == 404  # another tenant cannot erase (or see) it
        assert api.ok("DELETE", path, status=204) is None
        assert api.call("GET", path).status_code == 404
        assert api.call("DELETE", path).status_code == 404
    log = api.ok("GET", f"/directories/{d}/audit-log/")
    assert log["count"] == 3
    assert {(r["resource"], r["record_id"]) for r in log["results"]} == {(k, v[1]["id"]) for k, v in made.items()}
    assert all(r["action"] == "erased" and r["by"] == f"api-key:{world['org']}" for r in log["results"])
    assert "ana@example.com" not in str(log)  # the log keeps no personal data
    assert other.call("GET", f"/directories/{d}/audit-log/").status_code == 404
    # Deleting an entry erases what visitors sent about it, and says so in the log.
    contact = api.ok("POST", f"/directories/{d}/contact-requests/", dict(person, entry=e["id"]), 201)
    review = api.ok("POST", f"/directories/{d}/reviews/", {"entry": e["id"], "title": "t", "summary": "s", "rating": 4}, 201)
    api.ok("DELETE", f"/directories/{d}/entries/partners/{e['id']}/", status=204)
    logged = {(r["resource"], r["record_id"]) for r in api.ok("GET", f"/directories/{d}/audit-log/")["results"]}
    assert {("contact_request", contact["id"]), ("review", review["id"])} <= logged and len(logged) == 5
    reader = world["reader"]  # holds update_reviews but not delete_reviews
    assert reader.call("DELETE", f"/directories/{d}/reviews/{uuid.uuid4()}/").status_code == 403


def test_a_fetched_entry_can_be_sent_back_as_a_patch(world):
    """GET, change one field, PATCH the whole thing back: read-only fields (href, metadata, tracking,
    the tier object, embedded lists, timestamps) that equal the entry's are ignored."""
    api = world["api"]
    d = fresh_directory(world, "Round Trip")
    tier = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Gold"}, 201)
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Round", "tier": tier["id"],
                                                               "callouts": [{"name": "Hot"}]}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    api.ok("POST", path + "use-cases/", {"title": "Onboarding"}, 201)
    fetched = api.ok("GET", path)
    fetched["headline"] = "Changed"
    updated = api.ok("PATCH", path, fetched)
    assert updated["headline"] == "Changed" and updated["tier"]["id"] == tier["id"]
    assert [c["name"] for c in updated["callouts"]] == ["Hot"] and updated["callouts"][0]["id"] == e["callouts"][0]["id"]
    assert [u["title"] for u in updated["use_cases"]] == ["Onboarding"]
    # A read-only field with another value is still refused, so a typo or a stale copy surfaces.
    stale = dict(updated, tracking={"umami_website_id": "x", "umami_share_id": "y"})
    response = api.call("PATCH", path, stale)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["tracking"], response.text


def test_the_seed_patch_example_owner_object_is_accepted(world):
    api = world["api"]
    d = fresh_directory(world, "Owner Shapes")
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Owned", "owner": world["org"]}, 201)
    path = f"/directories/{d}/entries/partners/{e['id']}/"
    placeholder = api.ok("PATCH", path, {"title": "Still owned", "owner": {"property1": "string", "property2": "string"}})
    assert placeholder["owner"] == world["org"] and placeholder["title"] == "Still owned"
    assert api.ok("PATCH", path, {"owner": {"id": None}})["owner"] is None
    assert api.ok("PATCH", path, {"owner": {"id": world["org"]}})["owner"] == world["org"]


def test_the_public_side_shows_one_entry_by_slug(world):
    api, stack = world["api"], world["stack"]
    d = fresh_directory(world, "Public Single")
    slug = api.ok("GET", f"/directories/{d}/")["slug"]
    shown = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Shown", "status": "public", "internalDescription": "secret"}, 201)
    app = api.ok("POST", f"/directories/{d}/entries/apps/", {"title": "An App", "status": "public"}, 201)
    api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Hidden", "status": "hidden"}, 201)
    base = f"/api/directory/public/v1alpha/directories/{slug}/entries/"
    one = stack.get(base + "shown/")
    assert one.status_code == 200 and one.json()["id"] == shown["id"] and "secret" not in one.text
    assert one.json() == [r for r in stack.get(base).json()["results"] if r["id"] == shown["id"]][0]
    assert stack.get(base + "an-app/").json()["type"] == "app" and stack.get(base + "an-app/").json()["id"] == app["id"]
    assert stack.get(base + "hidden/").json() == {"detail": "Not found."}
    assert stack.get(base + "nothing/").status_code == 404


def test_reviews_are_served_on_the_partnerpage_path_too(world, entry):
    api, d = world["api"], world["d"]
    review = api.ok("POST", f"/directories/{d}/reviews/", {"entry": entry["id"], "title": "Alias", "summary": "s", "rating": 3}, 201)
    alias = f"/reviews/directory/{d}/{review['id']}/"
    assert api.ok("GET", alias) == review
    assert api.ok("PATCH", alias, {"status": "A"})["statusDisplay"] == "Approved"
    assert world["other"].call("GET", alias).status_code == 404


def test_the_public_side_resolves_filter_names(world):
    api, stack = world["api"], world["stack"]
    d = fresh_directory(world, "Public Filters")
    slug = api.ok("GET", f"/directories/{d}/")["slug"]
    region = api.ok("POST", f"/directories/{d}/filters/", {"name": "Region", "external": True}, 201)
    api.ok("POST", f"/directories/{d}/filters/", {"name": "Internal only", "internal": True, "external": False}, 201)
    emea = api.ok("POST", f"/directories/{d}/filters/{region['id']}/options/", {"name": "EMEA", "slug": "emea"}, 201)
    api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Tagged", "status": "public", "userAssignedFilterOptions": [emea["id"]]}, 201)
    base = f"/api/directory/public/v1alpha/directories/{slug}/"
    filters = stack.get(base + "filters/").json()
    assert [f["name"] for f in filters["results"]] == ["Region"]
    assert filters["results"][0]["options"] == [{"id": emea["id"], "name": "EMEA", "slug": "emea"}]
    assert stack.get(base + "entries/").json()["results"][0]["filter_options"] == [emea["id"]]
    api.ok("PATCH", f"/directories/{d}/settings/", {"publicListing": False})
    assert stack.get(base + "filters/").status_code == 404


def test_the_contact_request_form_is_configured_and_reset_on_the_partnerpage_path(world):
    api = world["api"]
    d = fresh_directory(world, "Form Paths")
    url = f"/directories/{d}/forms/contact-requests/"
    configured = api.ok("PUT", url, {"name": "Sales", "fields": [{"name": "budget", "type": "currency", "required": True}]})
    assert configured["is_active"] is True and api.ok("GET", url + "active/")["id"] == configured["id"]
    replaced = api.ok("PUT", url, {"name": "Sales 2", "fields": [{"name": "note", "type": "text"}]})
    assert replaced["id"] == configured["id"] and replaced["name"] == "Sales 2" and api.ok("GET", url)["count"] == 1
    assert api.call("PUT", url, {"name": "No fields"}).status_code == 400
    assert api.ok("DELETE", url, status=204) is None
    assert api.ok("GET", url + "active/")["id"] is None and api.ok("GET", url)["count"] == 0
    assert api.ok("DELETE", url, status=204) is None  # already the default


def test_tier_has_one_shape_on_the_private_side(world):
    """The tier of an entry is the seed's tier object in the entry, in the entries listing and in a
    tier's entries (it was an object, a bare id and a bare id); the public side shows its title."""
    api, stack = world["api"], world["stack"]
    d = fresh_directory(world, "Tier Shapes")
    gold = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Gold"}, 201)
    e = api.ok("POST", f"/directories/{d}/entries/partners/", {"title": "Tiered", "tier": gold["id"], "status": "public"}, 201)
    shown = e["tier"]
    assert shown["id"] == gold["id"] and shown["entriesCount"] == 1
    assert api.ok("GET", f"/directories/{d}/entries/")["results"][0]["tier"] == shown
    assert api.ok("GET", f"/directories/{d}/tiers/{gold['id']}/entries/")["results"][0]["tier"] == shown
    slug = api.ok("GET", f"/directories/{d}/")["slug"]
    assert stack.get(f"/api/directory/public/v1alpha/directories/{slug}/entries/").json()["results"][0]["tier"] == "Gold"


def test_fetched_sub_resources_and_forms_can_be_sent_back(world):
    api = world["api"]
    d = fresh_directory(world, "Round Trip Resources")
    tier = api.ok("POST", f"/directories/{d}/tiers/", {"title": "Gold"}, 201)
    fetched = api.ok("GET", f"/directories/{d}/tiers/{tier['id']}/")
    fetched["title"] = "Platinum"
    assert api.ok("PATCH", f"/directories/{d}/tiers/{tier['id']}/", fetched)["title"] == "Platinum"  # entriesCount, entriesListUrl
    stale = dict(fetched, entriesCount=7)
    assert list(api.call("PATCH", f"/directories/{d}/tiers/{tier['id']}/", stale).json()["errors"]) == ["entriesCount"]
    url = f"/directories/{d}/forms/contact-requests/"
    form = api.ok("POST", url, {"name": "F", "fields": [{"name": "n", "type": "text"}]}, 201)
    form["name"] = "G"
    assert api.ok("PUT", url + f"{form['id']}/", form)["name"] == "G"  # id, kind, created


def test_review_problems_come_all_at_once(world, entry):
    api, d = world["api"], world["d"]
    bad = api.call("POST", f"/directories/{d}/reviews/", {"entry": str(uuid.uuid4()), "title": 5, "summary": "s", "rating": 9})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"entry", "title", "rating"}, bad.text
