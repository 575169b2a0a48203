"""Routes of the web UI: the `ui` namespace (sign-in, dashboard, jobs, events, infrastructure) and the
`compute` namespace (VMs).

portal.urls includes this module at the root without a namespace, so both namespaces are top-level:
reverse("ui:dashboard"), reverse("compute:vm_list").
"""

from django.urls import include, path

from accounts.views import signin
from portal.ui import configuration, infrastructure, views
from portal.ui.access import public

# Not `app_name`: a module-level app_name would namespace the compute routes too ("ui:compute:...").
UI_NAMESPACE = "ui"

ui_patterns = [
    path("", views.dashboard, name="dashboard"),
    # Password logins go through the login throttle (accounts.services_security).
    path("login/", public(signin.LoginView.as_view()), name="login"),
    # Django's LogoutView accepts POST only (a GET answers 405), so a link cannot sign anyone out.
    path("logout/", public(signin.LogoutView.as_view()), name="logout"),
    path("jobs/", views.jobs, name="job_list"),
    path("jobs/<str:job_id>/", views.job_detail, name="job_detail"),
    path("events/", views.events, name="event_list"),
    path("infrastructure/zones/", infrastructure.zones, name="zone_list"),
    path("infrastructure/hosts/", infrastructure.hosts, name="host_list"),
    path("infrastructure/settings/", configuration.config_list_view, name="config_list"),
    path("infrastructure/settings/<str:name>/", configuration.config_update_view, name="config_update"),
    path("infrastructure/settings/<str:name>/reset/", configuration.config_reset_view, name="config_reset"),
    path("infrastructure/hosts/<str:host_id>/", infrastructure.host_detail, name="host_detail"),
    *[path(f"infrastructure/hosts/<str:host_id>/{action}/", infrastructure.host_action_view(action),
           {"action": action}, name=f"host_{action.replace('-', '_')}") for action in infrastructure.HOST_ACTIONS],
]

urlpatterns = [
    path("", include((ui_patterns, UI_NAMESPACE))),
    path("vms/", include("compute.urls")),
    path("", include("accounts.urls")),
]
