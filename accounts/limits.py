"""Resource limits and counts per account and per domain (CloudStack's resource_limit / resource_count).

A domain's limit caps the SUM over its whole subtree, so every reservation bumps the account's count and the
count of each ancestor domain (the domain rows hold subtree totals). Storage is kept in bytes; the CloudStack
door shows storage limits in GiB as CloudStack does.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Domain


class ResourceType(models.IntegerChoices):
    # CloudStack's Resource.ResourceType ordinals, which clients send as `resourcetype`.
    USER_VM = 0, "user_vm"
    PUBLIC_IP = 1, "public_ip"
    VOLUME = 2, "volume"
    SNAPSHOT = 3, "snapshot"
    TEMPLATE = 4, "template"
    NETWORK = 6, "network"
    CPU = 8, "cpu"
    MEMORY = 9, "memory"
    PRIMARY_STORAGE = 10, "primary_storage"
    SECONDARY_STORAGE = 11, "secondary_storage"


# Types whose limits CloudStack's API expresses in GiB while counts are bytes.
STORAGE_TYPES = frozenset({ResourceType.PRIMARY_STORAGE, ResourceType.SECONDARY_STORAGE})
GIB = 1024 ** 3
UNLIMITED = -1


class ResourceLimit(models.Model):
    """A row only where someone set a limit; absent rows fall back to settings.RESOURCE_LIMIT_DEFAULTS."""

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    resource_type = models.PositiveSmallIntegerField(_("resource type"), choices=ResourceType.choices)
    max = models.BigIntegerField(_("maximum"), default=UNLIMITED)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(account__isnull=True) ^ models.Q(domain__isnull=True),
                                   name="resource_limit_account_xor_domain"),
            models.UniqueConstraint(fields=["account", "resource_type"], name="unique_account_resource_limit"),
            models.UniqueConstraint(fields=["domain", "resource_type"], name="unique_domain_resource_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.account or self.domain} {ResourceType(self.resource_type).label} <= {self.max}"


class ResourceCount(models.Model):
    """The current usage; for a domain, the total of its subtree. Changed only by conditional UPDATEs."""

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    resource_type = models.PositiveSmallIntegerField(_("resource type"), choices=ResourceType.choices)
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(account__isnull=True) ^ models.Q(domain__isnull=True),
                                   name="resource_count_account_xor_domain"),
            models.UniqueConstraint(fields=["account", "resource_type"], name="unique_account_resource_count"),
            models.UniqueConstraint(fields=["domain", "resource_type"], name="unique_domain_resource_count"),
        ]

    def __str__(self) -> str:
        return f"{self.account or self.domain} {ResourceType(self.resource_type).label} = {self.count}"
