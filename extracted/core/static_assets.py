"""The static files the services' HTML needs, served by the service process itself.

`/v2/docs/` is Swagger UI, whose script and styles used to come from the jsDelivr CDN (`@latest`:
whatever was published that day, fetched by every browser that opened the page, and a blank page
on a hospital network without internet access). They now come from drf-spectacular-sidecar, a
pinned copy in requirements.lock, served under STATIC_URL (`/__ficus/static/`, Ficus's own
prefix) by this one view, so the services need neither whitenoise nor a web server in front of
gunicorn. Only the sidecar's files are served: nothing else on disk is reachable from here.
"""

from __future__ import annotations

from pathlib import Path

import drf_spectacular_sidecar
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe
from django.views.static import serve

__all__ = ["ASSET_PREFIX", "urlpatterns"]

ASSET_PREFIX = "drf_spectacular_sidecar/"
_ROOT = Path(drf_spectacular_sidecar.__file__).resolve().parent / "static"


@require_safe
def asset(request: HttpRequest, name: str) -> HttpResponseBase:
    if not name.startswith(ASSET_PREFIX):
        raise Http404(name)
    # serve() refuses `..` and absolute names (safe_join) and sets the content type.
    response = serve(request, name, document_root=str(_ROOT))
    response["Cache-Control"] = "public, max-age=86400"  # pinned files: they never change
    return response


urlpatterns: list[URLPattern] = [path("__ficus/static/<path:name>", asset, name="ficus-static")]
