"""`/docs`: Swagger UI served by finsync itself, under the page's strict Content-Security-Policy.

FastAPI's own `/docs` loads Swagger UI from a CDN without subresource integrity and starts it with an inline
script, which the page's policy (`script-src 'self'`, no inline code) forbids: whoever serves the CDN's file runs
code on finsync's origin, next to the user's tokens. Here every asset comes from finsync: the Swagger UI dist
files from the `swagger-ui-bundle-v2` package (Apache-2.0, pinned in uv.lock), the page and the script that starts
Swagger UI from this module. Only a fixed list of names is served; nothing else in the package is reachable.

ReDoc is off (`redoc_url=None` in the app): its standalone build injects `<style>` elements, which the policy
refuses, and one interactive reference is enough.
"""

from pathlib import Path

from fastapi import APIRouter, Request, Response
from swagger_ui_bundle import swagger_ui_path as _packaged_swagger_ui  # type: ignore[import-untyped]

from src.api.web import serve_bytes, serve_file
from src.exceptions import NotFoundError

# The dist folder of the installed package (a plain folder: wheels install unzipped).
SWAGGER_UI_DIR = Path(str(_packaged_swagger_ui))
DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
OPENAPI_URL = "/openapi.json"

_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui.css.map": "application/json",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-bundle.js.map": "application/json",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>finsync API</title>
  <link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{DOCS_PATH}/start.js"></script>
</body>
</html>
""".encode()

# FastAPI's Swagger UI settings, without the validator badge (an image from another origin).
_START = f"""window.ui = SwaggerUIBundle({{
  url: "{OPENAPI_URL}",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
""".encode()

router = APIRouter(include_in_schema=False)


@router.api_route(DOCS_PATH, methods=["GET", "HEAD"])
def swagger_ui_page(request: Request) -> Response:
    return serve_bytes(_PAGE, "text/html; charset=utf-8", request)


@router.api_route(f"{DOCS_PATH}/start.js", methods=["GET", "HEAD"])
def swagger_ui_start(request: Request) -> Response:
    return serve_bytes(_START, "text/javascript; charset=utf-8", request)


@router.api_route(f"{ASSETS_PATH}/{{name}}", methods=["GET", "HEAD"])
def swagger_ui_asset(name: str, request: Request) -> Response:
    content_type = _ASSETS.get(name)
    if content_type is None:
        raise NotFoundError("There is nothing at this address.")
    return serve_file(SWAGGER_UI_DIR / name, request, content_type)
