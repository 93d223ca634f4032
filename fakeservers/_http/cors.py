"""Cross-origin headers, so browser code can call a fake the way it calls the vendor."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

__all__ = ["add_cors_headers", "preflight_response"]

ALLOWED_HEADERS = "Authorization, Content-Type, Accept, partner-id, api-key"
EXPOSED_HEADERS = "Retry-After"
MAX_AGE = "86400"


def add_cors_headers(request: Request, response: Response) -> Response:
    """Allow any origin; echo it back (with Vary) when the browser sent one."""
    origin = request.environ.get("HTTP_ORIGIN")  # request.headers.get("Origin"), unparsed
    response.headers["Access-Control-Allow-Origin"] = origin or "*"
    if origin:
        response.headers.add("Vary", "Origin")
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def preflight_response(request: Request, allowed_methods: list[str]) -> Response:
    """Answer an OPTIONS preflight without credentials, as browsers send none."""
    response = Response(status=204)
    methods = sorted({*allowed_methods, "OPTIONS"})
    response.headers["Allow"] = ", ".join(methods)
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    requested = request.headers.get("Access-Control-Request-Headers")
    response.headers["Access-Control-Allow-Headers"] = requested or ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = MAX_AGE
    return add_cors_headers(request, response)
