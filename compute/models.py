"""Compute offerings and virtual machines."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import TenantOwned
from compute.states import VmSnapshotState, VmState


class ServiceOffering(models.Model):
    """A compute offering (CloudStack's service offering).

    Fixed offerings set cpu_number, cpu_speed and memory. Custom offerings leave some of them empty and the
    deployer chooses (CloudStack's `details[0].cpuNumber` ...): constrained when min/max bounds are set,
    unconstrained when not. The VM keeps its own copy of what it got (VirtualMachine.cpu_number ...), so a
    custom offering serves VMs of different sizes and scaling a VM never rewrites the offering.
    """

    class StorageType(models.TextChoices):
        SHARED = "shared", _("Shared")
        LOCAL = "local", _("Local")

    class SystemVmType(models.TextChoices):
        DOMAIN_ROUTER = "domainrouter", _("Virtual router")
        CONSOLE_PROXY = "consoleproxy", _("Console proxy")
        SECONDARY_STORAGE_VM = "secondarystoragevm", _("Secondary storage VM")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    display_text = models.CharField(_("description"), max_length=4096, blank=True)
    # Empty in a custom offering: chosen at deploy time within the min/max bounds (when given).
    cpu_number = models.PositiveIntegerField(_("CPU cores"), null=True, blank=True)
    cpu_speed = models.PositiveIntegerField(_("CPU speed (MHz)"), null=True, blank=True)
    memory = models.PositiveIntegerField(_("memory (MiB)"), null=True, blank=True)
    min_cpu_number = models.PositiveIntegerField(_("minimum CPU cores"), null=True, blank=True)
    max_cpu_number = models.PositiveIntegerField(_("maximum CPU cores"), null=True, blank=True)
    min_memory = models.PositiveIntegerField(_("minimum memory (MiB)"), null=True, blank=True)
    max_memory = models.PositiveIntegerField(_("maximum memory (MiB)"), null=True, blank=True)
    root_disk_size = models.BigIntegerField(_("root disk size (bytes)"), default=0,
                                            help_text=_("0 means the template's size."))
    # Offered only to these domains and their subdomains; none means every domain (CloudStack's domainid list).
    domains = models.ManyToManyField("accounts.Domain", blank=True, related_name="+")
    # Placement: CloudStack's `hosttags` (one tag, or a comma list every chosen host must carry), `tags`
    # (storage tags the root volume's pool must carry) and the offering's `deploymentplanner` (empty: the
    # vm.deployment.planner setting).
    host_tags = models.CharField(_("host tags"), max_length=1024, blank=True)
    storage_tags = models.CharField(_("storage tags"), max_length=1024, blank=True)
    deployment_planner = models.CharField(_("deployment planner"), max_length=64, blank=True)
    storage_type = models.CharField(_("storage type"), max_length=8, choices=StorageType.choices,
                                    default=StorageType.SHARED)
    offer_ha = models.BooleanField(_("offer HA"), default=False)
    # CloudStack's `limitcpuuse`: cap the VM at its CPU speed (libvirt cputune quota), not only weigh it.
    limit_cpu_use = models.BooleanField(_("CPU cap"), default=False)
    # A volatile VM gets a fresh root disk from its template on every reboot.
    is_volatile = models.BooleanField(_("volatile"), default=False)
    dynamic_scaling_enabled = models.BooleanField(_("dynamic scaling"), default=True)
    is_system = models.BooleanField(_("system offering"), default=False)
    system_vm_type = models.CharField(_("system VM type"), max_length=32, choices=SystemVmType.choices,
                                      blank=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cpu_number", "memory", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_customized(self) -> bool:
        """CloudStack's `iscustomized`: the deployer chooses at least one of CPU number, speed and memory."""
        return self.cpu_number is None or self.cpu_speed is None or self.memory is None

    @property
    def cpu_mhz_total(self) -> int:
        return (self.cpu_number or 0) * (self.cpu_speed or 0)

    @property
    def memory_bytes(self) -> int:
        return (self.memory or 0) * 1024 * 1024


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
    # What the VM runs with: the offering's values, or the deployer's for a custom offering; scaling changes
    # these (and the offering when it changes), never the offering's row.
    cpu_number = models.PositiveIntegerField(_("CPU cores"))
    cpu_speed = models.PositiveIntegerField(_("CPU speed (MHz)"))
    memory = models.PositiveIntegerField(_("memory (MiB)"))
    # The template it was deployed from, or the ISO it was installed from (then its root disk started blank).
    template = models.ForeignKey("storage.Template", on_delete=models.PROTECT, related_name="+")
    # The ISO in the VM's CD drive (attachIso / deploy from ISO), if any.
    iso = models.ForeignKey("storage.Template", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="+")
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    group = models.CharField(_("group"), max_length=255, blank=True)
    # Empty: the template's OS type.
    os_type = models.CharField(_("OS type"), max_length=255, blank=True)
    ha_enabled = models.BooleanField(_("HA enabled"), default=False)
    dynamically_scalable = models.BooleanField(_("dynamically scalable"), default=True)
    # cloud-init user-data as decoded text (CloudStack takes it base64-encoded), served by the config drive.
    user_data = models.TextField(_("user data"), blank=True)
    # Key pairs given at deploy or by resetSSHKeyForVirtualMachine: their names (as listed) and the public
    # keys themselves, kept on the VM so deleting a key pair does not change a VM's authorised keys.
    key_pair_names = models.CharField(_("SSH key pairs"), max_length=1024, blank=True)
    ssh_public_keys = models.TextField(blank=True)
    # Where the agent put the VM's NoCloud config drive on its host (empty: none built yet).
    config_drive_path = models.CharField(max_length=2048, blank=True)
    # Where the console proxy reaches the VM's VNC server: this port on the host's console address, with
    # this password (Fernet-encrypted, accounts.crypto). The agent reads both off the running domain after
    # every boot, revert and migration; the web process never asks libvirt.
    vnc_port = models.PositiveIntegerField(null=True, blank=True)
    vnc_password_encrypted = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # When the VM entered Destroyed: it can be recovered until expunge.delay has passed, then the periodic
    # expunge task removes it.
    destroyed_at = models.DateTimeField(null=True, blank=True)
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
        return self.cpu_number * self.cpu_speed

    @property
    def memory_bytes(self) -> int:
        return self.memory * 1024 * 1024

    @property
    def effective_os_type(self) -> str:
        return self.os_type or self.template.os_type

    def live_snapshots(self) -> models.QuerySet[VMSnapshot]:
        """Its VM snapshots that still exist (any state but Removed). On the model, because deploy, start,
        restore and migration all ask before acting, and they sit below the snapshot services."""
        return VMSnapshot.objects.filter(virtual_machine=self, removed__isnull=True)


class VirtualMachineUserPermission(UserObjectPermissionBase):
    """Per-VM grants to users, with a real foreign key so scoping a VM list is a join, not a generic lookup."""

    content_object = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE)


class VirtualMachineGroupPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE)


class SSHKeyPair(TenantOwned):
    """An SSH public key registered (or generated) by an account; names are unique within the account."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    fingerprint = models.CharField(_("fingerprint"), max_length=128)
    public_key = models.TextField(_("public key"))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="keypair_unique_name")]

    def __str__(self) -> str:
        return self.name


class AffinityGroup(TenantOwned):
    """CloudStack's affinity groups: VMs of a `host anti-affinity` group go to different hosts, VMs of a
    `host affinity` group to the same host."""

    class Type(models.TextChoices):
        HOST_ANTI_AFFINITY = "host anti-affinity", _("Host anti-affinity")
        HOST_AFFINITY = "host affinity", _("Host affinity")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    description = models.CharField(_("description"), max_length=4096, blank=True)
    group_type = models.CharField(_("type"), max_length=32, choices=Type.choices)
    virtual_machines = models.ManyToManyField(VirtualMachine, blank=True, related_name="affinity_groups")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="affinity_unique_name")]

    def __str__(self) -> str:
        return self.name


class VMSnapshot(TenantOwned):
    """A snapshot of all of a VM's qcow2 disks (internal snapshots), optionally with its memory state."""

    class Type(models.TextChoices):
        DISK = "Disk", _("Disk")
        DISK_AND_MEMORY = "DiskAndMemory", _("Disk and memory")

    State = VmSnapshotState

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The libvirt snapshot name (unique per VM); display_name is what the user called it.
    name = models.CharField(_("name"), max_length=255)
    display_name = models.CharField(_("display name"), max_length=255, blank=True)
    description = models.CharField(_("description"), max_length=4096, blank=True)
    virtual_machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="vm_snapshots")
    snapshot_type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.DISK)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ALLOCATED)
    # The snapshot the VM was last reverted to or last taken (CloudStack's `current`), and its parent.
    current = models.BooleanField(default=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The VM's offering and size when taken: reverting restores them (CloudStack does the same).
    service_offering = models.ForeignKey(ServiceOffering, null=True, on_delete=models.PROTECT, related_name="+")
    cpu_number = models.PositiveIntegerField(null=True)
    cpu_speed = models.PositiveIntegerField(null=True)
    memory = models.PositiveIntegerField(null=True)
    created = models.DateTimeField(auto_now_add=True)
    removed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.display_name or self.name


class VmMetric(models.Model):
    """One sample of a VM's usage, as rates over the interval it covers.

    `resolution` is the interval in seconds: raw samples (the collection interval) are averaged into 5-minute
    and 1-hour rows by the downsampling task, and each resolution is kept for its own retention period, so a
    week of charts costs a bounded number of rows per VM.
    """

    virtual_machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="metrics")
    at = models.DateTimeField(db_index=True)
    resolution = models.PositiveIntegerField()
    cpu_percent = models.FloatField(default=0.0)
    memory_used_kib = models.BigIntegerField(default=0)
    memory_total_kib = models.BigIntegerField(default=0)
    disk_read_bps = models.FloatField(default=0.0)
    disk_write_bps = models.FloatField(default=0.0)
    disk_read_iops = models.FloatField(default=0.0)
    disk_write_iops = models.FloatField(default=0.0)
    net_rx_bps = models.FloatField(default=0.0)
    net_tx_bps = models.FloatField(default=0.0)
    # Raw rows only: the cumulative counters read from the host, from which the next sample's rates follow.
    counters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["virtual_machine", "resolution", "at"])]

    def __str__(self) -> str:
        return f"{self.virtual_machine_id}@{self.at:%Y-%m-%d %H:%M:%S}/{self.resolution}s"


class ConsoleToken(TenantOwned):
    """A ticket to open one VM's console, for one user, once, within seconds of its minting.

    Only the SHA-256 of the token is stored, so a database dump lets nobody in. The consumer redeems it by
    stamping `used` in the same UPDATE that checks it is unused and unexpired, so two sockets racing with
    one token cannot both win. Account and domain are the VM's: the ticket is tenant data like the VM.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    virtual_machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)
    used = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"console ticket for {self.virtual_machine_id} ({self.user_id})"
