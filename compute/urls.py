"""Web UI routes for virtual machines (namespace `compute`), mounted at /vms/ by portal.ui.urls."""

from django.urls import path

from compute import (
    views,
    views_affinity,
    views_console,
    views_deploy,
    views_grants,
    views_keypairs,
    views_metrics,
    views_vm_snapshots,
)

app_name = "compute"

urlpatterns = [
    path("", views.vm_list_view, name="vm_list"),
    path("deploy/", views_deploy.vm_deploy, name="vm_deploy"),
    path("keypairs/", views_keypairs.keypair_list_view, name="keypair_list"),
    path("keypairs/register/", views_keypairs.keypair_register, name="keypair_register"),
    path("keypairs/create/", views_keypairs.keypair_create, name="keypair_create"),
    path("keypairs/<str:keypair_id>/delete/", views_keypairs.keypair_delete, name="keypair_delete"),
    path("affinity-groups/", views_affinity.affinity_list_view, name="affinity_list"),
    path("affinity-groups/add/", views_affinity.affinity_add, name="affinity_add"),
    path("affinity-groups/<str:group_id>/delete/", views_affinity.affinity_delete, name="affinity_delete"),
    path("<str:vm_id>/", views.vm_detail, name="vm_detail"),
    path("<str:vm_id>/metrics/", views_metrics.vm_metrics, name="vm_metrics"),
    path("<str:vm_id>/snapshots/", views_vm_snapshots.vm_snapshots, name="vm_snapshots"),
    path("<str:vm_id>/snapshots/take/", views_vm_snapshots.vm_snapshot_take, name="vm_snapshot_take"),
    path("<str:vm_id>/snapshots/<str:snapshot_id>/revert/", views_vm_snapshots.vm_snapshot_revert,
         name="vm_snapshot_revert"),
    path("<str:vm_id>/snapshots/<str:snapshot_id>/delete/", views_vm_snapshots.vm_snapshot_delete,
         name="vm_snapshot_delete"),
    path("<str:vm_id>/console/", views_console.vm_console, name="vm_console"),
    path("<str:vm_id>/console/ticket/", views_console.vm_console_ticket, name="vm_console_ticket"),
    path("<str:vm_id>/console/serial/", views_console.vm_console_serial, name="vm_console_serial"),
    path("<str:vm_id>/console/serial/<str:job_id>/", views_console.vm_console_serial_result,
         name="vm_console_serial_result"),
    path("<str:vm_id>/sharing/", views_grants.vm_sharing, name="vm_sharing"),
    path("<str:vm_id>/sharing/grant/", views_grants.vm_sharing_grant, name="vm_sharing_grant"),
    path("<str:vm_id>/sharing/revoke/", views_grants.vm_sharing_revoke, name="vm_sharing_revoke"),
    *[
        path(f"<str:vm_id>/{action}/", views.vm_action_view(action), {"action": action}, name=f"vm_{action}")
        for action in views.ACTIONS
    ],
]
