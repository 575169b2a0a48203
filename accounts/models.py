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
    # What the account's users may do (accounts.roles); its type must match account_type.
    role = models.ForeignKey("accounts.Role", on_delete=models.PROTECT, related_name="accounts",
                             verbose_name=_("role"))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain__path", "name"]
        constraints = [models.UniqueConstraint(fields=["domain", "name"], name="unique_account_name_per_domain")]

    def __str__(self) -> str:
        return f"{self.domain.path}{self.name}"

    def save(self, *args, **kwargs) -> None:
        """Give the account its type's built-in role when none was chosen; refuse a role of another type
        (services check first and answer InvalidParameter; this guards every other writer)."""
        from accounts.roles import ROLE_TYPE_OF_ACCOUNT, default_role

        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not {"role", "role_id", "account_type"} & set(update_fields):
            super().save(*args, **kwargs)
            return
        if self.role_id is None:
            self.role = default_role(self.account_type)
        elif self.role.role_type != ROLE_TYPE_OF_ACCOUNT[self.account_type]:
            raise ValueError(f"role {self.role.name} ({self.role.role_type}) does not fit account type "
                             f"{self.account_type}")
        super().save(*args, **kwargs)


# The accounts.crypto purpose of API secrets: its own key, so no other encrypted value can stand in for one.
API_SECRET_PURPOSE = "api-secret"  # noqa: S105 (a key-derivation label, not a secret)


class User(AbstractUser):
    """The custom user model (from the first migration, so later identity features need no swap)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    api_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    # Fernet token (accounts.crypto), never the secret itself: signatures are HMACs, so the portal needs the
    # secret back and cannot hash it; a copy of the database alone does not give anyone signing power.
    secret_key_encrypted = models.TextField(blank=True, default="")
    # CloudStack's usersource: "native" users have a portal password, "ldap" ones authenticate to a directory.
    source = models.CharField(max_length=16, default="native", editable=False)

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    @property
    def domain(self) -> Domain | None:
        return self.account.domain if self.account_id else None

    @property
    def secret_key(self) -> str:
        """The API secret in plain text, for the code that checks signatures; "" when none is registered."""
        from accounts.crypto import decrypt
        return decrypt(self.secret_key_encrypted, purpose=API_SECRET_PURPOSE)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        from accounts.crypto import encrypt
        self.secret_key_encrypted = encrypt(value, purpose=API_SECRET_PURPOSE)


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


class LdapConfiguration(models.Model):
    """An LDAP server users authenticate against (CloudStack's addLdapConfiguration). A configuration with a
    domain serves that domain; one without serves every domain that has none of its own."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hostname = models.CharField(_("hostname"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=389)
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="ldap_configurations")
    bind_dn = models.CharField(_("bind DN"), max_length=1024, blank=True)
    # Fernet token (accounts.crypto): the portal binds with it again, so it is encrypted, not hashed.
    bind_password_encrypted = models.TextField(blank=True)
    base_dn = models.CharField(_("base DN"), max_length=1024, blank=True)
    username_attribute = models.CharField(_("username attribute"), max_length=64, default="uid")
    user_object_class = models.CharField(_("user object class"), max_length=64, default="inetOrgPerson")
    start_tls = models.BooleanField(_("StartTLS"), default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["hostname", "port", "domain"],
                                               name="unique_ldap_server_per_domain")]

    def __str__(self) -> str:
        return self.uri

    @property
    def uri(self) -> str:
        return f"ldap://{self.hostname}:{self.port}"

    @property
    def bind_password(self) -> str:
        from accounts.crypto import decrypt
        return decrypt(self.bind_password_encrypted, purpose="ldap-bind")

    @bind_password.setter
    def bind_password(self, value: str) -> None:
        from accounts.crypto import encrypt
        self.bind_password_encrypted = encrypt(value, purpose="ldap-bind")


class LdapLink(models.Model):
    """An LDAP group or OU whose members log in to one account of a domain (CloudStack's linkDomainToLdap)."""

    class Type(models.TextChoices):
        GROUP = "GROUP", _("Group")
        OU = "OU", _("Organizational unit")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="ldap_links")
    type = models.CharField(_("type"), max_length=8, choices=Type.choices)
    name = models.CharField(_("distinguished name"), max_length=1024)
    account_type = models.IntegerField(_("account type"), choices=Account.Type.choices, default=Account.Type.USER)
    account_name = models.CharField(_("account"), max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain__path", "pk"]
        constraints = [models.UniqueConstraint(fields=["domain", "type", "name"], name="unique_ldap_link")]

    def __str__(self) -> str:
        return f"{self.domain.path} {self.type} {self.name}"


# Resource limits live in their own module; imported here so Django registers the models with this app.
from accounts.limits import ResourceCount, ResourceLimit  # noqa: E402, F401

# Roles and their rules (accounts.roles) too.
from accounts.roles import Role, RolePermission  # noqa: E402, F401

# Login throttling lives in its own module too.
from accounts.security import LoginThrottle  # noqa: E402, F401
