"""/openapi.json, Swagger UI at /docs and ReDoc at /redoc, served from local assets (no CDN)."""

from __future__ import annotations

from aiohttp import web

from studio.resources import RESOURCES_DIR
from studio.server.keys import SERVICES, OPENAPI_CACHE, ROUTE_SPECS
from studio.server.openapi import build_openapi
from studio.server.routing import RouteTable
from studio.server.schemas.system import OpenApiDocument

DOCS_ASSETS = RESOURCES_DIR / "docs"
routes = RouteTable()

_SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Studio API · Swagger UI</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: true});</script></body></html>"""

_REDOC_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Studio API · ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc/redoc.standalone.js"></script></body></html>"""


@routes.get("/openapi.json", summary="OpenAPI description of this API", tags=["docs"], public=True,
            response=OpenApiDocument, wrap=False)
async def openapi_json(request: web.Request) -> web.Response:
    cache = request.app[OPENAPI_CACHE]
    if "spec" not in cache:
        cache["spec"] = build_openapi(request.app[ROUTE_SPECS], request.app[SERVICES].api_base_url)
    return web.json_response(cache["spec"])


@routes.get("/docs", summary="Interactive API documentation (Swagger UI)", tags=["docs"], public=True,
            media={"text/html": "text"})
async def swagger_ui(request: web.Request) -> web.Response:
    return web.Response(text=_SWAGGER_HTML, content_type="text/html")


@routes.get("/redoc", summary="API reference (ReDoc)", tags=["docs"], public=True, media={"text/html": "text"})
async def redoc(request: web.Request) -> web.Response:
    return web.Response(text=_REDOC_HTML, content_type="text/html")


def install_assets(app: web.Application) -> None:
    """The docs' files by their exact names only: any other name is a 404 before the file system is
    asked (a static route passed long or odd names to the OS and answered its errors with a 500)."""
    assets = {p.relative_to(DOCS_ASSETS).as_posix(): p for p in DOCS_ASSETS.rglob("*") if p.is_file()}

    async def asset(request: web.Request) -> web.StreamResponse:
        path = assets.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)
    app.router.add_get("/docs/assets/{name:.+}", asset)
