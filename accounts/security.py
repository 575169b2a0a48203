"""Login throttling state: failed password logins counted per user name and per client address.

In the database rather than a process's memory or a local cache, so every web process and every door (web UI,
CloudStack `login`) sees the same counts. Keys are stored as keyed digests, not as typed: people type their
password into the user name field often enough that failed user names must not be readable from a dump.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginThrottle(models.Model):
    """Failures of one user name, or of one client address, inside the current window; a lock once there
    were too many (accounts.services_security decides the numbers)."""

    class Scope(models.TextChoices):
        USERNAME = "user", _("User name")
        ADDRESS = "ip", _("Client address")

    scope = models.CharField(max_length=8, choices=Scope.choices)
    key_digest = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key_digest"], name="unique_login_throttle_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key_digest[:12]} failures={self.failures} locked_until={self.locked_until}"
