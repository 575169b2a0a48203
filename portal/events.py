"""Events: the activity record every state change leaves behind (CloudStack's listEvents)."""

from __future__ import annotations

from django.db.models import Model

from accounts.models import Account, User
from portal.models import AsyncJob, Event


def event_emit(
    *,
    type: str,
    description: str,
    account: Account,
    user: User | None = None,
    state: str = Event.State.COMPLETED,
    level: str = Event.Level.INFO,
    job: AsyncJob | None = None,
    resource: Model | None = None,
) -> Event:
    resource_type = resource._meta.model_name if resource is not None else ""
    resource_id = str(getattr(resource, "uuid", "")) if resource is not None else ""
    return Event.objects.create(
        type=type,
        description=description,
        account=account,
        domain_id=account.domain_id,
        user=user,
        state=state,
        level=level,
        job=job,
        resource_type=resource_type,
        resource_id=resource_id,
    )
