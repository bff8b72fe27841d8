"""The hosted docs: built by deploy/build-docs (mkdocs-material guides, Swagger UI references, the
OpenAPI documents the server writes), served by nginx under /docs/ with caching and gzip, optionally
behind basic auth, and rendered by a real headless browser."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BINARY, REPO, Stack, make_state

GUIDES = ["", "getting-started/", "lead-provider/", "lead-provider/workflows/", "lead-provider/participants/", "lead-provider/declarations/",
          "lead-provider/errors/", "lead-provider/pagination/",
          "lead-provider-api/", "partners/", "partners/workflows/", "partners/errors/", "partners/pagination/", "partners-api/",
          "reference/", "docs-access/", "operations/", "store/", "directory-api/"]


@pytest.fixture(scope="module")
def site():
    """Outside pytest's basetemp: a concurrent pytest session resets /tmp/pytest-of-<user> to mode
    0700, and nginx's workers (www-data) then answer 404 for every page of the site."""
    base = Path(tempfile.mkdtemp(prefix="partnerships-docs-"))
    base.chmod(0o755)
    subprocess.run([str(REPO / "deploy" / "build-docs"), "--binary", str(BINARY), "--output", str(base / "site")],
                   check=True, capture_output=True, text=True, timeout=600)
    yield base / "site"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def docs_stack(tmp_path_factory, site):
    stack = Stack(make_state(tmp_path_factory), ["--workers", "1"], env={"DOCS_ROOT": str(site)}).start()
    yield stack
    stack.stop()


def published_documents(tmp_path):
    subprocess.run([str(BINARY), "openapi", "--output", str(tmp_path)], check=True, capture_output=True, timeout=60)
    return {path.stem: json.loads(path.read_text()) for path in tmp_path.glob("*.json")}


def test_every_family_document_is_served_at_a_stable_url(docs_stack, tmp_path):
    documents = published_documents(tmp_path)
    assert {"lead-provider-v3", "partners-v1"} <= set(documents)
    reference = docs_stack.get("/docs/reference/").text
    for family, document in documents.items():
        response = docs_stack.get(f"/docs/openapi/{family}.json", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers.get("Content-Encoding") == "gzip"
        assert "max-age=600" in response.headers["Cache-Control"] and "public" in response.headers["Cache-Control"]
        assert response.json() == document
        assert docs_stack.get(f"/docs/reference/{family}/").status_code == 200
        assert f"{family}.json" in reference and document["info"]["title"] in reference


def test_guides_are_served(docs_stack):
    for page in GUIDES:
        response = docs_stack.get(f"/docs/{page}")
        assert response.status_code == 200, page
        assert "<title>" in response.text
    home = docs_stack.get("/docs/")
    assert "Partnerships API" in home.text and "/docs/openapi/lead-provider-v3.json" in home.text
    # Swagger UI comes from this site, never a CDN.
    page = docs_stack.get("/docs/reference/lead-provider-v3/").text
    assert 'src="../swagger-ui/swagger-ui-bundle.js"' in page and "https://" not in page
    assert docs_stack.get("/docs/reference/swagger-ui/swagger-ui-bundle.js").status_code == 200


def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (deploy/test installs the Debian package)")
    return path


def browse(url, profile, *extra):
    """Loads `url` in headless Chromium; the page's scripts get 15 s of virtual time to render."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
               "--ignore-certificate-errors", "--virtual-time-budget=15000", "--window-size=1280,1600", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_browser_renders_the_home_and_a_reference_page(docs_stack, tmp_path, capsys):
    home = browse(docs_stack.url("/docs/"), tmp_path / "profile-home", "--dump-dom")
    assert home.returncode == 0, home.stderr[-2000:]
    assert "<title>Partnerships API</title>" in home.stdout
    assert "Lead Provider API" in home.stdout and "Partners API" in home.stdout

    url = docs_stack.url("/docs/reference/lead-provider-v3/")
    dom = browse(url, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Rendered by Swagger UI's scripts, not present in the static HTML: the document's title,
    # an operation's id (in its block's DOM id) and its summary.
    assert 'class="swagger-ui' in dom.stdout
    assert "Lead Provider API" in dom.stdout
    assert "operations-Partnerships-get_api_v3_partnerships" in dom.stdout
    assert "List your partnerships" in dom.stdout
    assert "Unable to render" not in dom.stdout

    screenshot = Path(os.environ.get("DOCS_SCREENSHOT_DIR", REPO / "results")) / "docs-reference-lead-provider-v3.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = browse(url, tmp_path / "profile-shot", f"--screenshot={screenshot}")
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    with capsys.disabled():
        print(f"\n    docs screenshot: {screenshot}")


def test_staff_only_docs_need_a_password(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("htpasswd")
    folder.chmod(0o755)
    htpasswd = folder / "docs.htpasswd"
    hashed = subprocess.run(["openssl", "passwd", "-apr1", "correct horse"], check=True, capture_output=True, text=True).stdout.strip()
    htpasswd.write_text(f"staff:{hashed}\n")
    htpasswd.chmod(0o644)
    stack = Stack(make_state(tmp_path_factory), ["--workers", "1"], env={"DOCS_ROOT": str(site), "DOCS_AUTH_FILE": str(htpasswd)}).start()
    try:
        def basic(user, password):
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

        for path in ("/docs/", "/docs/openapi/partners-v1.json", "/docs/reference/lead-provider-v3/"):
            refused = stack.get(path)
            assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"], path
            assert stack.get(path, headers=basic("staff", "wrong")).status_code == 401
            assert stack.get(path, headers=basic("staff", "correct horse")).status_code == 200, path
        # The APIs are not behind the docs password.
        assert stack.get("/healthz").status_code == 200
        assert stack.get("/api/v3/partnerships").status_code == 401
        assert "HTTP Token" in stack.get("/api/v3/partnerships").text
    finally:
        stack.stop()


def test_a_missing_password_file_is_refused_at_start(tmp_path_factory, site):
    stack = Stack(make_state(tmp_path_factory), [], env={"DOCS_ROOT": str(site), "DOCS_AUTH_FILE": "/nonexistent/htpasswd"})
    with pytest.raises(RuntimeError, match="not a readable file"):
        stack.start()
