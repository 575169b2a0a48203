"""URL roots of the three doors: the web UI, the REST API (/api/v1/) and the CloudStack API (/client/api)."""

from django.urls import include, path
from django.views.i18n import set_language

from portal.ui.access import public

urlpatterns = [
    path("client/", include("portal.cloudstack.urls")),
    path("api/v1/", include("portal.rest.urls")),
    # The language switch must work on the login page, before anyone is signed in.
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("", include("portal.ui.urls")),
]
