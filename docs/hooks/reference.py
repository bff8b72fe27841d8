"""MkDocs hook: the API reference part of the site, driven by the OpenAPI documents that
`partnerships openapi --output DIR` wrote (DIR in $PARTNERSHIPS_OPENAPI_DIR, set by deploy/build-docs).

For each document <family>.json it publishes /docs/openapi/<family>.json and an interactive
Swagger UI page /docs/reference/<family>/ (static files from the swagger-ui-py package, no CDN),
and lists the families on reference/index.md. A new API family needs no change here."""
import html
import importlib.util
import json
import os
import shutil
from pathlib import Path

SWAGGER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"]
PLACEHOLDER = "<!-- api families -->"


def documents():
    folder = os.environ.get("PARTNERSHIPS_OPENAPI_DIR")
    if not folder or not Path(folder).is_dir():
        raise SystemExit("PARTNERSHIPS_OPENAPI_DIR must name the folder `partnerships openapi --output` wrote (deploy/build-docs sets it)")
    found = {path.stem: (path, json.loads(path.read_text())) for path in sorted(Path(folder).glob("*.json"))}
    if not found:
        raise SystemExit(f"no OpenAPI documents in {folder}")
    return found


def operation_count(document):
    return sum(len(item) for item in document["paths"].values())


def on_page_markdown(markdown, page, **_):
    if PLACEHOLDER not in markdown:
        return markdown
    rows = ["| API | version | operations | interactive reference | OpenAPI document |", "|---|---|---|---|---|"]
    for family, (_, document) in documents().items():
        info = document["info"]
        rows.append(f"| {info['title']} | {info['version']} | {operation_count(document)} | "
                    f"[{family}]({family}/) | [`/docs/openapi/{family}.json`](../openapi/{family}.json) |")
    return markdown.replace(PLACEHOLDER, "\n".join(rows))


def swagger_page(family, document):
    title = html.escape(f"{document['info']['title']} {document['info']['version']} reference")
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="../swagger-ui/favicon-32x32.png">
  <link rel="stylesheet" href="../swagger-ui/swagger-ui.css">
  <style>body {{ margin: 0; }} .back {{ font: 14px sans-serif; padding: 8px 20px; background: #3f51b5; }} .back a {{ color: #fff; }}</style>
</head>
<body>
  <div class="back"><a href="../../">&larr; Partnerships API docs</a> &middot; <a href="../">all API references</a>
    &middot; <a href="../../openapi/{family}.json">OpenAPI document</a></div>
  <div id="swagger-ui"></div>
  <script src="../swagger-ui/swagger-ui-bundle.js"></script>
  <script src="init.js"></script>
</body>
</html>
"""


def swagger_init(family):
    # A separate file rather than an inline script, so a Content-Security-Policy without 'unsafe-inline' works.
    return f"""window.ui = SwaggerUIBundle({{
  url: "../../openapi/{family}.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


def on_post_build(config, **_):
    site = Path(config["site_dir"])
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None:
        raise SystemExit("the swagger-ui-py package is missing (docs/requirements.txt)")
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    assets = site / "reference" / "swagger-ui"
    assets.mkdir(parents=True, exist_ok=True)
    for name in SWAGGER_FILES:
        shutil.copyfile(static / name, assets / name)
    (site / "openapi").mkdir(exist_ok=True)
    for family, (path, document) in documents().items():
        shutil.copyfile(path, site / "openapi" / f"{family}.json")
        page = site / "reference" / family
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text(swagger_page(family, document))
        (page / "init.js").write_text(swagger_init(family))
