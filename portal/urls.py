"""URL roots of the three doors: the web UI, the REST API (/api/v1/) and the CloudStack API (/client/api)."""

from django.urls import include, path

urlpatterns = [
    path("client/", include("portal.cloudstack.urls")),
    path("api/v1/", include("portal.rest.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("portal.ui.urls")),
]
