"""Tenancy: a tree of domains, accounts inside domains, users inside accounts (CloudStack's model)."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Domain(models.Model):
    """A node of the tenancy tree. `path` ("ROOT/Sales/") makes subtree queries one indexed prefix match."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=1024, unique=True, db_index=True, editable=False)
    level = models.PositiveIntegerField(default=0, editable=False)
    network_domain = models.CharField(_("network domain"), max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="unique_domain_name_per_parent")]

    def __str__(self) -> str:
        return self.path

    def save(self, *args, **kwargs) -> None:
        if self.parent_id is None:
            self.path, self.level = f"{self.name}/", 0
        else:
            self.path, self.level = f"{self.parent.path}{self.name}/", self.parent.level + 1
        super().save(*args, **kwargs)

    @property
    def cloudstack_path(self) -> str:
        """CloudStack shows paths without the trailing slash: "ROOT/Sales"."""
        return self.path.rstrip("/")

    def is_within(self, other: Domain) -> bool:
        return self.path.startswith(other.path)


class Account(models.Model):
    class Type(models.IntegerChoices):
        # CloudStack's accounttype numbers, which clients read.
        USER = 0, _("User")
        ROOT_ADMIN = 1, _("Root admin")
        DOMAIN_ADMIN = 2, _("Domain admin")

    class State(models.TextChoices):
        ENABLED = "enabled", _("Enabled")
        DISABLED = "disabled", _("Disabled")
        LOCKED = "locked", _("Locked")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="accounts")
    account_type = models.IntegerField(_("account type"), choices=Type.choices, default=Type.USER)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ENABLED)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain__path", "name"]
        constraints = [models.UniqueConstraint(fields=["domain", "name"], name="unique_account_name_per_domain")]

    def __str__(self) -> str:
        return f"{self.domain.path}{self.name}"


class User(AbstractUser):
    """The custom user model (from the first migration, so later identity features need no swap)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    api_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    secret_key = models.CharField(max_length=128, blank=True)

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    @property
    def domain(self) -> Domain | None:
        return self.account.domain if self.account_id else None


class TenantOwned(models.Model):
    """Every tenant-owned row knows its account and domain, so scoping is one filter everywhere."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.account_id and not self.domain_id:
            self.domain_id = self.account.domain_id
        super().save(*args, **kwargs)
