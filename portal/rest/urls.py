"""URLs of the REST API, mounted at /api/v1/ (namespace "rest")."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import APIRootView, DefaultRouter

from accounts.api import TokenRotateView
from accounts.api_ldap import LdapConfigurationViewSet, LdapLinkViewSet
from accounts.api_limits import urlpatterns as limit_urls
from accounts.api_profile import ProfileKeysView, ProfilePasswordView, ProfileView
from accounts.api_roles import RoleViewSet
from accounts.api_roles import urlpatterns as role_permission_urls
from accounts.api_tenancy import AccountViewSet, DomainViewSet, UserViewSet
from compute.api import VirtualMachineViewSet
from compute.api_affinity import AffinityGroupViewSet
from compute.api_grants import urlpatterns as vm_grant_urls
from compute.api_keypairs import SSHKeyPairViewSet
from compute.api_metrics import urlpatterns as vm_metrics_urls
from compute.api_offerings import ServiceOfferingViewSet
from compute.api_vm_ops import urlpatterns as vm_ops_urls
from compute.api_vm_snapshots import VMSnapshotViewSet
from infrastructure.api import ZoneViewSet
from infrastructure.api_capacity import CapacityViewSet
from infrastructure.api_hosts import HostViewSet
from infrastructure.api_topology import ClusterViewSet, PhysicalNetworkViewSet, PodViewSet, TrafficTypeViewSet
from portal.api import JobViewSet
from portal.api_configuration import ConfigurationViewSet
from portal.api_tags import TagViewSet
from portal.rest.docs import OfflineRedocView, SchemaView, SwaggerView
from portal.rest.errors import not_found_view
from storage.api import TemplateViewSet
from storage.api_disk_offerings import DiskOfferingViewSet
from storage.api_pools import ImageStoreViewSet, StoragePoolViewSet

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
router.register("pods", PodViewSet, basename="pod")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("physical-networks", PhysicalNetworkViewSet, basename="physical-network")
router.register("traffic-types", TrafficTypeViewSet, basename="traffic-type")
router.register("hosts", HostViewSet, basename="host")
router.register("storage-pools", StoragePoolViewSet, basename="storage-pool")
router.register("image-stores", ImageStoreViewSet, basename="image-store")
router.register("capacity", CapacityViewSet, basename="capacity")
router.register("service-offerings", ServiceOfferingViewSet, basename="service-offering")
router.register("disk-offerings", DiskOfferingViewSet, basename="disk-offering")
router.register("templates", TemplateViewSet, basename="template")
router.register("ldap-configurations", LdapConfigurationViewSet, basename="ldap-configuration")
router.register("ldap-links", LdapLinkViewSet, basename="ldap-link")
router.register("domains", DomainViewSet, basename="domain")
router.register("accounts", AccountViewSet, basename="account")
router.register("users", UserViewSet, basename="user")
router.register("roles", RoleViewSet, basename="role")
router.register("configurations", ConfigurationViewSet, basename="configuration")
router.register("ssh-key-pairs", SSHKeyPairViewSet, basename="ssh-key-pair")
router.register("affinity-groups", AffinityGroupViewSet, basename="affinity-group")
router.register("tags", TagViewSet, basename="tag")
router.register("vm-snapshots", VMSnapshotViewSet, basename="vm-snapshot")

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="rest:schema"), name="docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="rest:schema"), name="redoc"),
    path("auth/token/", TokenRotateView.as_view(), name="token"),
    path("profile/", ProfileView.as_view(), name="profile"),
    path("profile/keys/", ProfileKeysView.as_view(), name="profile-keys"),
    path("profile/password/", ProfilePasswordView.as_view(), name="profile-password"),
    *vm_grant_urls,
    *vm_metrics_urls,
    *vm_ops_urls,
    *limit_urls,
    *role_permission_urls,
    *router.urls,
    # Last: anything else under /api/v1/ is a 404 with the API's error body.
    re_path(r"^.*$", not_found_view),
]
