"""Mounted at client/ by portal.urls: the CloudStack API lives at /client/api, where clients expect it."""

from django.urls import path

from portal.cloudstack import views

app_name = "cloudstack"

urlpatterns = [
    path("api", views.api, name="api"),
]
