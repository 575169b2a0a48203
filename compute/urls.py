"""Web UI routes for virtual machines (namespace `compute`), mounted at /vms/ by portal.ui.urls."""

from django.urls import path

from compute import views, views_grants

app_name = "compute"

urlpatterns = [
    path("", views.vm_list_view, name="vm_list"),
    path("deploy/", views.vm_deploy, name="vm_deploy"),
    path("<str:vm_id>/", views.vm_detail, name="vm_detail"),
    path("<str:vm_id>/sharing/", views_grants.vm_sharing, name="vm_sharing"),
    path("<str:vm_id>/sharing/grant/", views_grants.vm_sharing_grant, name="vm_sharing_grant"),
    path("<str:vm_id>/sharing/revoke/", views_grants.vm_sharing_revoke, name="vm_sharing_revoke"),
    *[
        path(f"<str:vm_id>/{action}/", views.vm_action_view(action), {"action": action}, name=f"vm_{action}")
        for action in views.ACTIONS
    ],
]
