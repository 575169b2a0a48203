"""The physical side: zone → pod → cluster → host. Hosts are libvirt URIs."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import urlsplit

from django.db import models
from django.utils.translation import gettext_lazy as _


class AllocationState(models.TextChoices):
    ENABLED = "Enabled", _("Enabled")
    DISABLED = "Disabled", _("Disabled")


class Zone(models.Model):
    class NetworkType(models.TextChoices):
        BASIC = "Basic", _("Basic")
        ADVANCED = "Advanced", _("Advanced")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255, unique=True)
    description = models.CharField(_("description"), max_length=1024, blank=True)
    network_type = models.CharField(max_length=16, choices=NetworkType.choices, default=NetworkType.ADVANCED)
    allocation_state = models.CharField(max_length=16, choices=AllocationState.choices,
                                        default=AllocationState.ENABLED)
    dns1 = models.CharField(max_length=64, blank=True)
    dns2 = models.CharField(max_length=64, blank=True)
    internal_dns1 = models.CharField(max_length=64, blank=True)
    internal_dns2 = models.CharField(max_length=64, blank=True)
    # CloudStack's `guestcidraddress` and network `domain` (the DNS suffix of guest networks), Advanced zones.
    guest_cidr = models.CharField(_("guest CIDR"), max_length=64, blank=True)
    network_domain = models.CharField(_("network domain"), max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Pod(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="pods")
    name = models.CharField(_("name"), max_length=255)
    gateway = models.CharField(max_length=64, blank=True)
    netmask = models.CharField(max_length=64, blank=True)
    # The pod's reserved (management) IP range, as CloudStack's createPod `startip`/`endip`.
    start_ip = models.CharField(_("start IP"), max_length=64, blank=True)
    end_ip = models.CharField(_("end IP"), max_length=64, blank=True)
    allocation_state = models.CharField(max_length=16, choices=AllocationState.choices,
                                        default=AllocationState.ENABLED)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone__name", "name"]
        constraints = [models.UniqueConstraint(fields=["zone", "name"], name="unique_pod_name_per_zone")]

    def __str__(self) -> str:
        return self.name


class Cluster(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pod = models.ForeignKey(Pod, on_delete=models.PROTECT, related_name="clusters")
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="clusters")
    name = models.CharField(_("name"), max_length=255)
    hypervisor_type = models.CharField(max_length=32, default="KVM")
    allocation_state = models.CharField(max_length=16, choices=AllocationState.choices,
                                        default=AllocationState.ENABLED)
    cpu_overprovisioning = models.FloatField(_("CPU overprovisioning factor"), default=1.0)
    memory_overprovisioning = models.FloatField(_("memory overprovisioning factor"), default=1.0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone__name", "name"]
        constraints = [models.UniqueConstraint(fields=["pod", "name"], name="unique_cluster_name_per_pod")]

    def __str__(self) -> str:
        return self.name


class PhysicalNetwork(models.Model):
    """A zone's physical network: which host bridges carry which traffic (its TrafficTypes)."""

    class State(models.TextChoices):
        ENABLED = "Enabled", _("Enabled")
        DISABLED = "Disabled", _("Disabled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="physical_networks")
    name = models.CharField(_("name"), max_length=255)
    # CloudStack creates physical networks Disabled; they are enabled once their traffic types are set.
    state = models.CharField(max_length=16, choices=State.choices, default=State.DISABLED)
    vlan = models.CharField(_("VLAN range"), max_length=255, blank=True)
    isolation_methods = models.CharField(_("isolation methods"), max_length=255, blank=True)
    broadcast_domain_range = models.CharField(max_length=16, default="ZONE")
    tags = models.CharField(_("tags"), max_length=1024, blank=True)
    network_speed = models.CharField(_("network speed"), max_length=32, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone__name", "name"]
        constraints = [models.UniqueConstraint(fields=["zone", "name"], name="unique_physical_network_name_per_zone")]

    def __str__(self) -> str:
        return self.name


class TrafficType(models.Model):
    class Kind(models.TextChoices):
        GUEST = "Guest", _("Guest")
        PUBLIC = "Public", _("Public")
        MANAGEMENT = "Management", _("Management")
        STORAGE = "Storage", _("Storage")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # CloudStack deletes a physical network's traffic types with it.
    physical_network = models.ForeignKey(PhysicalNetwork, on_delete=models.CASCADE, related_name="traffic_types")
    traffic_type = models.CharField(max_length=16, choices=Kind.choices)
    # The host bridge carrying this traffic on KVM hosts (CloudStack's `kvmnetworklabel`).
    kvm_network_label = models.CharField(_("KVM network label"), max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["physical_network_id", "traffic_type"]
        constraints = [models.UniqueConstraint(fields=["physical_network", "traffic_type"],
                                               name="unique_traffic_type_per_physical_network")]

    def __str__(self) -> str:
        return self.traffic_type


class Host(models.Model):
    class Status(models.TextChoices):
        UP = "Up", _("Up")
        CONNECTING = "Connecting", _("Connecting")
        DISCONNECTED = "Disconnected", _("Disconnected")
        ALERT = "Alert", _("Alert")
        DOWN = "Down", _("Down")
        # CloudStack's Status enum still names the maintenance states, but listHosts reports maintenance in
        # `resourcestate`: the heartbeat never sets these (see infrastructure.states).
        MAINTENANCE = "Maintenance", _("Maintenance")
        PREPARE_FOR_MAINTENANCE = "PrepareForMaintenance", _("Prepare for maintenance")
        ERROR_IN_MAINTENANCE = "ErrorInMaintenance", _("Error in maintenance")

    class ResourceState(models.TextChoices):
        ENABLED = "Enabled", _("Enabled")
        DISABLED = "Disabled", _("Disabled")
        PREPARE_FOR_MAINTENANCE = "PrepareForMaintenance", _("Prepare for maintenance")
        ERROR_IN_MAINTENANCE = "ErrorInMaintenance", _("Error in maintenance")
        MAINTENANCE = "Maintenance", _("Maintenance")

    class DomainType(models.TextChoices):
        # libvirt <domain type=...>: "test" for libvirt's test driver (the simulator).
        QEMU = "qemu", _("QEMU (emulation)")
        KVM = "kvm", _("KVM")
        TEST = "test", _("Simulator (libvirt test driver)")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="hosts")
    pod = models.ForeignKey(Pod, on_delete=models.PROTECT, related_name="hosts")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="hosts")
    url = models.CharField(_("libvirt URI"), max_length=1024)
    domain_type = models.CharField(max_length=8, choices=DomainType.choices, default=DomainType.QEMU)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.CONNECTING)
    resource_state = models.CharField(max_length=32, choices=ResourceState.choices, default=ResourceState.ENABLED)
    # CloudStack's `hosttags`: a comma list, kept normalised (stripped, no empties, no duplicates).
    host_tags = models.CharField(_("host tags"), max_length=1024, blank=True)
    # Credentials of a remote libvirt URI; the password only encrypted (accounts.crypto), never shown.
    username = models.CharField(_("username"), max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True)
    cpu_sockets = models.PositiveIntegerField(default=1)
    cpu_cores = models.PositiveIntegerField(default=0)
    cpu_speed = models.PositiveIntegerField(_("CPU speed (MHz)"), default=0)
    memory_total = models.BigIntegerField(_("memory (bytes)"), default=0)
    # Reserved capacity of the VMs placed here; changed only by atomic UPDATEs (infrastructure.placement).
    cpu_allocated = models.BigIntegerField(default=0)
    memory_allocated = models.BigIntegerField(default=0)
    hypervisor_version = models.CharField(max_length=64, blank=True)
    # Discovered from the host's libvirt capabilities: the CPU model, and what it can run as CloudStack's
    # `capabilities` list (the guest domain types, e.g. "hvm,kvm,qemu").
    cpu_model = models.CharField(_("CPU model"), max_length=255, blank=True)
    capabilities = models.CharField(_("capabilities"), max_length=255, blank=True)
    storage_path = models.CharField(_("local storage path"), max_length=1024, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    disconnected = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue(self) -> str:
        """The Celery queue of this host's agent: all hypervisor work for the host is routed here."""
        return f"host.{self.pk}"

    @property
    def is_simulator(self) -> bool:
        return self.domain_type == self.DomainType.TEST

    @property
    def console_address(self) -> str:
        """Where the host's VNC servers listen and the console proxy connects: the address the portal already
        reaches the host's libvirtd on (the URI's host), or loopback for a local URI such as qemu:///system.
        Listening there, not on every interface, keeps consoles off the hosts' other networks."""
        hostname = urlsplit(self.url).hostname
        return hostname or "127.0.0.1"

    @property
    def local_pool_name(self) -> str:
        """Named after the directory, not the host row: libvirt refuses two pools over one directory, and a
        host re-registered (or a database rebuilt) must find the pool it already defined there."""
        return f"cirrostack-local-{hashlib.sha256(self.storage_path.encode()).hexdigest()[:12]}"

    @property
    def cpu_total_mhz(self) -> int:
        return self.cpu_cores * self.cpu_speed

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.host_tags.split(",") if tag]
