"""Templates and volumes. A VM's ROOT volume is created from its template on the VM's host."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import TenantOwned


class Template(TenantOwned):
    """A template or an ISO (format ISO): CloudStack keeps both in one table too, and listIsos is
    listTemplates restricted to ISOs."""

    class Format(models.TextChoices):
        QCOW2 = "QCOW2", "QCOW2"
        RAW = "RAW", "RAW"
        ISO = "ISO", "ISO"

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
    # ISOs: whether a VM can boot (and be deployed) from it, or it only carries files (drivers, tools).
    bootable = models.BooleanField(_("bootable"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_iso(self) -> bool:
        return self.format == self.Format.ISO

    @property
    def local_path(self) -> str | None:
        """The file a host uses as the backing image, when the template lives on a path hosts can read."""
        return self.url[len("file://"):] if self.url.startswith("file://") else None


class DiskOffering(models.Model):
    """A disk offering: the size of a data disk (or of a blank root disk when deploying from an ISO), or a
    custom size chosen by the user, the storage tags its pool must carry and the I/O limits applied to the
    disk as libvirt iotune."""

    class StorageType(models.TextChoices):
        SHARED = "shared", _("Shared")
        LOCAL = "local", _("Local")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    display_text = models.CharField(_("description"), max_length=4096, blank=True)
    # 0 with is_customized: the user gives the size (within custom.diskoffering.size.min/max).
    disk_size = models.BigIntegerField(_("disk size (bytes)"), default=0)
    is_customized = models.BooleanField(_("custom size"), default=False)
    storage_tags = models.CharField(_("storage tags"), max_length=1024, blank=True)
    storage_type = models.CharField(_("storage type"), max_length=8, choices=StorageType.choices,
                                    default=StorageType.SHARED)
    # CloudStack's iopsreadrate, iopswriterate, bytesreadrate, byteswriterate (empty: unlimited).
    iops_read_rate = models.PositiveBigIntegerField(_("read IOPS limit"), null=True, blank=True)
    iops_write_rate = models.PositiveBigIntegerField(_("write IOPS limit"), null=True, blank=True)
    bytes_read_rate = models.PositiveBigIntegerField(_("read bytes/s limit"), null=True, blank=True)
    bytes_write_rate = models.PositiveBigIntegerField(_("write bytes/s limit"), null=True, blank=True)
    # Offered only to these domains and their subdomains; none means every domain.
    domains = models.ManyToManyField("accounts.Domain", blank=True, related_name="+")
    display_offering = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["disk_size", "name"]

    def __str__(self) -> str:
        return self.name


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
    # The offering a data disk (or an ISO-deployed blank root disk) was created from; its I/O limits apply.
    disk_offering = models.ForeignKey(DiskOffering, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    # Set once the agent has created the volume: the host-local pool and the path on that host.
    host = models.ForeignKey("infrastructure.Host", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="volumes")
    # The primary storage chosen at placement (empty: the host's local pool, as before storage pools existed).
    storage_pool = models.ForeignKey("storage.StoragePool", null=True, blank=True, on_delete=models.PROTECT,
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


class StoragePool(models.Model):
    """Primary storage: a libvirt storage pool that holds volumes, defined on every host in its scope.

    CloudStack's scopes: CLUSTER (every host of one cluster), ZONE (every host of the zone) and HOST (one
    host's local disk). `capacity_bytes`/`used_bytes` are what libvirt reports for the pool; `allocated_bytes`
    is the sum of the sizes reserved for volumes placed here, changed only by atomic UPDATEs
    (storage.placement), and compared against capacity x storage.overprovisioning.factor.
    """

    class Scope(models.TextChoices):
        CLUSTER = "CLUSTER", _("Cluster")
        ZONE = "ZONE", _("Zone")
        HOST = "HOST", _("Host")

    class PoolType(models.TextChoices):
        # CloudStack's StoragePoolType names, as listStoragePools reports them.
        FILESYSTEM = "Filesystem", _("Local directory")
        NETWORK_FILESYSTEM = "NetworkFilesystem", _("NFS")
        RBD = "RBD", _("Ceph RBD")

    class Status(models.TextChoices):
        UP = "Up", _("Up")
        DISABLED = "Disabled", _("Disabled")
        PREPARE_FOR_MAINTENANCE = "PrepareForMaintenance", _("Prepare for maintenance")
        ERROR_IN_MAINTENANCE = "ErrorInMaintenance", _("Error in maintenance")
        MAINTENANCE = "Maintenance", _("Maintenance")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    zone = models.ForeignKey("infrastructure.Zone", on_delete=models.PROTECT, related_name="storage_pools")
    pod = models.ForeignKey("infrastructure.Pod", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="storage_pools")
    cluster = models.ForeignKey("infrastructure.Cluster", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="storage_pools")
    host = models.ForeignKey("infrastructure.Host", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="local_storage_pools", help_text=_("Only for host-scoped pools."))
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.CLUSTER)
    pool_type = models.CharField(max_length=32, choices=PoolType.choices, default=PoolType.FILESYSTEM)
    # As given to createStoragePool: filesystem:///path, nfs://server/export, rbd://[user@]monitor/pool.
    url = models.CharField(_("URL"), max_length=2048)
    # Parsed from the URL: the NFS server or Ceph monitor, and the directory / export / RBD pool name.
    server = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=1024)
    # RBD: the cephx user; its key only encrypted (accounts.crypto), never shown.
    rbd_user = models.CharField(max_length=255, blank=True)
    rbd_secret_encrypted = models.TextField(blank=True)
    # CloudStack's storage `tags`: a comma list, kept normalised like host tags.
    tags = models.CharField(_("storage tags"), max_length=1024, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.UP)
    capacity_bytes = models.BigIntegerField(_("capacity (bytes)"), default=0)
    used_bytes = models.BigIntegerField(_("used (bytes)"), default=0)
    allocated_bytes = models.BigIntegerField(_("allocated (bytes)"), default=0)
    # CloudStack's `capacitybytes`: what the administrator lets the cloud provision from the pool. When set it
    # is the capacity; when empty the capacity is what libvirt reports once a host has defined the pool.
    capacity_limit_bytes = models.BigIntegerField(_("capacity limit (bytes)"), null=True, blank=True)
    # createStoragePool's `details` map, kept as given (key → value strings).
    details = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["zone__name", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def libvirt_name(self) -> str:
        """The pool's name on every host: stable for the row, the same on all hosts that share it."""
        return f"cirrostack-{self.uuid}"

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]


class ImageStore(models.Model):
    """Secondary storage of a zone: where templates, ISOs and snapshot backups are kept."""

    class Provider(models.TextChoices):
        NFS = "NFS", "NFS"
        LOCAL = "Local", _("Local directory")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    # Empty means a region-wide store (CloudStack allows it for object stores); NFS/local stores have a zone.
    zone = models.ForeignKey("infrastructure.Zone", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="image_stores")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.NFS)
    # nfs://server/export or file:///path; `protocol` is the scheme listImageStores reports ("nfs", "file").
    url = models.CharField(_("URL"), max_length=2048)
    protocol = models.CharField(max_length=16, blank=True)
    server = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=1024, blank=True)
    read_only = models.BooleanField(default=False)
    capacity_bytes = models.BigIntegerField(_("capacity (bytes)"), default=0)
    used_bytes = models.BigIntegerField(_("used (bytes)"), default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
