"""Templates and volumes. A VM's ROOT volume is created from its template on the VM's host."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import TenantOwned


class Template(TenantOwned):
    class Format(models.TextChoices):
        QCOW2 = "QCOW2", "QCOW2"
        RAW = "RAW", "RAW"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    display_text = models.CharField(_("description"), max_length=4096, blank=True)
    # Where hosts find the image: file:///path (readable by the hypervisor) or simulator:// for test hosts.
    url = models.CharField(_("URL"), max_length=2048)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.QCOW2)
    hypervisor = models.CharField(max_length=32, default="KVM")
    os_type = models.CharField(_("OS type"), max_length=255, default="Other Linux (64-bit)")
    size = models.BigIntegerField(_("virtual size (bytes)"), default=0)
    zone = models.ForeignKey("infrastructure.Zone", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="templates", help_text=_("Empty means every zone."))
    is_public = models.BooleanField(_("public"), default=False)
    is_featured = models.BooleanField(_("featured"), default=False)
    is_ready = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def local_path(self) -> str | None:
        """The file a host uses as the backing image, when the template lives on a path hosts can read."""
        return self.url[len("file://"):] if self.url.startswith("file://") else None


class Volume(TenantOwned):
    class Type(models.TextChoices):
        ROOT = "ROOT", "ROOT"
        DATADISK = "DATADISK", "DATADISK"

    class State(models.TextChoices):
        ALLOCATED = "Allocated", _("Allocated")
        CREATING = "Creating", _("Creating")
        READY = "Ready", _("Ready")
        DESTROY = "Destroy", _("Destroy")
        EXPUNGED = "Expunged", _("Expunged")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    volume_type = models.CharField(max_length=16, choices=Type.choices, default=Type.ROOT)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ALLOCATED)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    format = models.CharField(max_length=8, default="QCOW2")
    zone = models.ForeignKey("infrastructure.Zone", on_delete=models.PROTECT, related_name="volumes")
    virtual_machine = models.ForeignKey("compute.VirtualMachine", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="volumes")
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Set once the agent has created the volume: the host-local pool and the path on that host.
    host = models.ForeignKey("infrastructure.Host", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="volumes")
    pool_name = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=2048, blank=True)
    device_id = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return self.name

    @property
    def file_name(self) -> str:
        return f"{self.uuid}.qcow2"
