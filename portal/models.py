"""Cross-cutting records: asynchronous jobs (CloudStack's async job semantics) and events."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import TenantOwned


class AsyncJob(TenantOwned):
    class Status(models.IntegerChoices):
        # CloudStack's jobstatus numbers, which every client polls for.
        PENDING = 0, _("Pending")
        SUCCEEDED = 1, _("Succeeded")
        FAILED = 2, _("Failed")
        CANCELLED = 3, _("Cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cmd = models.CharField(max_length=255, help_text=_("The command that created the job."))
    handler = models.CharField(max_length=255, help_text=_("The registered job handler that runs it."))
    params = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=255)
    status = models.IntegerField(choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent done (jobprocstatus)."))
    result_code = models.IntegerField(default=0)
    result_type = models.CharField(max_length=16, default="object")
    # Door-neutral outcome: {"object": <type>, "id": <uuid>} or {"errorcode": ..., "errortext": ...}.
    result = models.JSONField(null=True, blank=True)
    instance_type = models.CharField(max_length=64, blank=True)
    instance_id = models.CharField(max_length=64, blank=True, db_index=True)
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    completed = models.DateTimeField(null=True, blank=True)
    # Stamped on every change (portal.jobs passes it to each UPDATE, which bypasses auto_now): the live relay
    # of the embedded default finds what changed since its last read with one indexed range query.
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["instance_type", "instance_id", "status"])]

    def __str__(self) -> str:
        return f"{self.cmd} {self.uuid}"

    @property
    def is_done(self) -> bool:
        return self.status != self.Status.PENDING


class Event(TenantOwned):
    """An audit and activity record (CloudStack's listEvents). Jobs emit Scheduled/Started/Completed.

    The audit trail outlives its tenant: deleting an account or domain empties the column instead of
    deleting the events, so root admins (and the admins of a domain that still exists) still read what
    happened, while no end user reaches an event that has no account.
    """

    class Level(models.TextChoices):
        INFO = "INFO", "INFO"
        WARN = "WARN", "WARN"
        ERROR = "ERROR", "ERROR"

    class State(models.TextChoices):
        CREATED = "Created", _("Created")
        SCHEDULED = "Scheduled", _("Scheduled")
        STARTED = "Started", _("Started")
        COMPLETED = "Completed", _("Completed")

    account = models.ForeignKey("accounts.Account", null=True, on_delete=models.SET_NULL, related_name="+")
    domain = models.ForeignKey("accounts.Domain", null=True, on_delete=models.SET_NULL, related_name="+")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    state = models.CharField(max_length=16, choices=State.choices, default=State.COMPLETED)
    description = models.TextField()
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey(AsyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.state}: {self.description}"


class ConfigurationValue(models.Model):
    """An override of one declared setting (portal.configuration.SETTINGS) at one scope: CloudStack's
    `configuration` table (scope "global") and its zone/cluster/account/domain detail tables in one.

    `scope_id` is the primary key of the zone, cluster, account or domain (0 for global): a setting's scopes
    differ per setting, and one lookup ("this name at any of these scopes") stays one indexed query. The
    cluster overprovisioning factors are not stored here: infrastructure.Cluster's own fields are their
    cluster-scoped values (CloudStack's cluster details cpuOvercommitRatio/memoryOvercommitRatio).
    """

    name = models.CharField(max_length=255)
    scope = models.CharField(max_length=16)
    scope_id = models.BigIntegerField(default=0)
    value = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "scope", "scope_id"]
        constraints = [models.UniqueConstraint(fields=["name", "scope", "scope_id"],
                                               name="unique_configuration_value_per_scope")]

    def __str__(self) -> str:
        return f"{self.name}[{self.scope}:{self.scope_id}]={self.value}"


class ResourceTag(TenantOwned):
    """A key/value tag on any taggable resource (CloudStack's createTags), owned like the resource it tags.

    `resource_type` is CloudStack's name for the kind (UserVm, Volume, Template, ISO, VMSnapshot, ...) and
    `resource_uuid` the resource's public id, so one table serves every kind without generic foreign keys;
    `resource_id` (the row's primary key) lets listings fetch the tags of a page of rows in one query.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(_("key"), max_length=255)
    value = models.CharField(_("value"), max_length=255, blank=True)
    resource_type = models.CharField(_("resource type"), max_length=64)
    resource_uuid = models.UUIDField()
    resource_id = models.BigIntegerField()
    customer = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        indexes = [models.Index(fields=["resource_type", "resource_id"])]
        constraints = [models.UniqueConstraint(fields=["resource_type", "resource_uuid", "key"],
                                               name="tag_unique_key_per_resource")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
