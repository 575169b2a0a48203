"""URLs of the REST API, mounted at /api/v1/ (namespace "rest")."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import APIRootView, DefaultRouter

from accounts.api import TokenRotateView
from compute.api import ServiceOfferingViewSet, VirtualMachineViewSet
from infrastructure.api import ZoneViewSet
from portal.api import JobViewSet
from portal.rest.docs import OfflineRedocView, SchemaView, SwaggerView
from portal.rest.errors import not_found_view
from storage.api import TemplateViewSet

app_name = "rest"


class ApiRootView(APIRootView):
    """The resources of the Cirrostack REST API."""

    authz_actions = {"get": "api.discover"}


class Router(DefaultRouter):
    include_format_suffixes = False
    APIRootView = ApiRootView


router = Router()
router.register("virtual-machines", VirtualMachineViewSet, basename="virtual-machine")
router.register("jobs", JobViewSet, basename="job")
router.register("zones", ZoneViewSet, basename="zone")
router.register("service-offerings", ServiceOfferingViewSet, basename="service-offering")
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="rest:schema"), name="docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="rest:schema"), name="redoc"),
    path("auth/token/", TokenRotateView.as_view(), name="token"),
    *router.urls,
    # Last: anything else under /api/v1/ is a 404 with the API's error body.
    re_path(r"^.*$", not_found_view),
]
