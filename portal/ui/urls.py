"""Routes of the web UI: the `ui` namespace (sign-in, dashboard, jobs, events, infrastructure) and the
`compute` namespace (VMs).

portal.urls includes this module at the root without a namespace, so both namespaces are top-level:
reverse("ui:dashboard"), reverse("compute:vm_list").
"""

from django.urls import include, path

from accounts.views import signin
from portal.ui import capacity, configuration, infrastructure, offerings, setup_wizard, storage_pools, topology, views
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
    # Zone detail/add/edit, pods, clusters, physical networks and traffic types.
    *topology.urlpatterns,
    path("infrastructure/hosts/", infrastructure.hosts, name="host_list"),
    path("infrastructure/hosts/add/", infrastructure.host_add_view, name="host_add"),
    # The first-run setup wizard: zone, pod, cluster, host, storage, enable.
    *setup_wizard.urlpatterns,
    path("infrastructure/offerings/", offerings.offerings, name="offering_list"),
    path("infrastructure/offerings/add/", offerings.offering_add, name="offering_add"),
    path("infrastructure/offerings/<str:offering_id>/", offerings.offering_edit, name="offering_edit"),
    path("infrastructure/offerings/<str:offering_id>/delete/", offerings.offering_delete, name="offering_delete"),
    path("infrastructure/disk-offerings/", offerings.disk_offerings, name="disk_offering_list"),
    path("infrastructure/disk-offerings/add/", offerings.disk_offering_add, name="disk_offering_add"),
    path("infrastructure/disk-offerings/<str:offering_id>/", offerings.disk_offering_edit,
         name="disk_offering_edit"),
    path("infrastructure/disk-offerings/<str:offering_id>/delete/", offerings.disk_offering_delete,
         name="disk_offering_delete"),
    path("infrastructure/settings/", configuration.config_list_view, name="config_list"),
    path("infrastructure/settings/<str:name>/", configuration.config_update_view, name="config_update"),
    path("infrastructure/settings/<str:name>/reset/", configuration.config_reset_view, name="config_reset"),
    path("infrastructure/hosts/<str:host_id>/", infrastructure.host_detail, name="host_detail"),
    *[path(f"infrastructure/hosts/<str:host_id>/{action}/", infrastructure.host_action_view(action),
           {"action": action}, name=f"host_{action.replace('-', '_')}") for action in infrastructure.HOST_ACTIONS],
    path("infrastructure/storage-pools/", storage_pools.pools, name="storage_pool_list"),
    path("infrastructure/storage-pools/add/", storage_pools.pool_add, name="storage_pool_add"),
    path("infrastructure/storage-pools/<str:pool_id>/", storage_pools.pool_detail, name="storage_pool_detail"),
    *[path(f"infrastructure/storage-pools/<str:pool_id>/{action}/", storage_pools.pool_action_view(action),
           {"action": action}, name=f"storage_pool_{action.replace('-', '_')}")
      for action in storage_pools.POOL_ACTIONS],
    path("infrastructure/image-stores/", storage_pools.stores, name="image_store_list"),
    path("infrastructure/capacity/", capacity.capacity, name="capacity"),
    path("infrastructure/image-stores/add/", storage_pools.store_add, name="image_store_add"),
    path("infrastructure/image-stores/<str:store_id>/delete/", storage_pools.store_delete,
         name="image_store_delete"),
]

urlpatterns = [
    path("", include((ui_patterns, UI_NAMESPACE))),
    path("vms/", include("compute.urls")),
    path("", include("accounts.urls")),
]
