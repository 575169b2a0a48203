"""The API documentation pages. They load their assets from drf-spectacular-sidecar's static files, never
from a CDN, so they work on an installation without internet access."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from django.template import engines
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.renderers import TemplateHTMLRenderer

from portal import authz

_REDOC_TEMPLATE = Path(__file__).resolve().parent / "templates" / "redoc.html"


@functools.cache
def _redoc_template() -> Any:
    return engines["django"].from_string(_REDOC_TEMPLATE.read_text())


class _OfflineRedocRenderer(TemplateHTMLRenderer):
    """drf-spectacular's ReDoc page links Google Fonts; this one uses the browser's fonts instead."""

    def resolve_template(self, template_names: Any) -> Any:
        return _redoc_template()


class SchemaView(SpectacularAPIView):
    authz_actions = {"get": authz.PUBLIC}


class SwaggerView(SpectacularSwaggerView):
    authz_actions = {"get": authz.PUBLIC}


class OfflineRedocView(SpectacularRedocView):
    renderer_classes = [_OfflineRedocRenderer]
    authz_actions = {"get": authz.PUBLIC}
