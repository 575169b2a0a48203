"""Web UI routes for virtual machines (namespace `compute`), mounted at /vms/ by portal.ui.urls."""

from django.urls import path

from compute import views

app_name = "compute"

urlpatterns = [
    path("", views.vm_list_view, name="vm_list"),
    path("deploy/", views.vm_deploy, name="vm_deploy"),
    path("<str:vm_id>/", views.vm_detail, name="vm_detail"),
    *[
        path(f"<str:vm_id>/{action}/", views.vm_action_view(action), {"action": action}, name=f"vm_{action}")
        for action in views.ACTIONS
    ],
]
