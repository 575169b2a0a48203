"""Compute offerings and virtual machines."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import TenantOwned
from compute.states import VmState


class ServiceOffering(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    display_text = models.CharField(_("description"), max_length=4096, blank=True)
    cpu_number = models.PositiveIntegerField(_("CPU cores"))
    cpu_speed = models.PositiveIntegerField(_("CPU speed (MHz)"))
    memory = models.PositiveIntegerField(_("memory (MiB)"))
    root_disk_size = models.BigIntegerField(_("root disk size (bytes)"), default=0,
                                            help_text=_("0 means the template's size."))
    # Empty means offered to every domain.
    domain = models.ForeignKey("accounts.Domain", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    # Placement: CloudStack's `hosttags` (one tag, or a comma list every chosen host must carry), `tags`
    # (storage tags the root volume's pool must carry) and the offering's `deploymentplanner` (empty: the
    # vm.deployment.planner setting).
    host_tags = models.CharField(_("host tags"), max_length=1024, blank=True)
    storage_tags = models.CharField(_("storage tags"), max_length=1024, blank=True)
    deployment_planner = models.CharField(_("deployment planner"), max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cpu_number", "memory", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def cpu_mhz_total(self) -> int:
        return self.cpu_number * self.cpu_speed

    @property
    def memory_bytes(self) -> int:
        return self.memory * 1024 * 1024


class VirtualMachine(TenantOwned):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=63)
    display_name = models.CharField(_("display name"), max_length=255, blank=True)
    # The libvirt domain name: CloudStack's "i-<account>-<vm>-VM".
    instance_name = models.CharField(max_length=255, unique=True, null=True, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=VmState.choices, default=VmState.STOPPED)
    zone = models.ForeignKey("infrastructure.Zone", on_delete=models.PROTECT, related_name="virtual_machines")
    # The host holding the VM's reserved capacity (set while Starting/Running/Stopping), and the host
    # it last ran on (where its local root volume lives).
    host = models.ForeignKey("infrastructure.Host", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="virtual_machines")
    last_host = models.ForeignKey("infrastructure.Host", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    service_offering = models.ForeignKey(ServiceOffering, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey("storage.Template", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    vnc_port = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["account", "state"]), models.Index(fields=["domain", "state"])]
        # Object permissions an owner can grant another user on one VM (django-guardian); Django's default
        # view/change/delete permissions complete the set. See portal.authz.OBJECT_PERMISSIONS.
        permissions = [
            ("operate_virtualmachine", _("Can start, stop and reboot the virtual machine")),
            ("console_virtualmachine", _("Can open the console of the virtual machine")),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name

    @property
    def cpu_mhz(self) -> int:
        return self.service_offering.cpu_mhz_total

    @property
    def memory_bytes(self) -> int:
        return self.service_offering.memory_bytes


class VirtualMachineUserPermission(UserObjectPermissionBase):
    """Per-VM grants to users, with a real foreign key so scoping a VM list is a join, not a generic lookup."""

    content_object = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE)


class VirtualMachineGroupPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE)
