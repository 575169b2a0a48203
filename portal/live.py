"""Live updates: job and VM changes pushed to browsers over the WebSocket /ws/jobs/ (portal.consumers).

What a browser receives mirrors what `portal.authz.scope` lets its user see, by channel-layer groups:
a change is sent to the groups of its owner (`owner_groups`: the account, every domain on the path from the
root down to the owner's domain, and "root"), and a browser joins exactly one of them (`viewer_groups`:
root admins "root", domain admins their domain, users their account), plus one group per VM someone
granted the user (django-guardian) outside that reach. So routing is decided once, server-side, and a
message never reaches a socket whose user could not list the object.

How a change reaches the channel layer depends on the layer, because of who makes the change. Jobs run in
the agent (a Celery worker), another process than the ASGI server holding the sockets:

* direct (channels-redis, production): whoever changes a job, the web process submitting it or the worker
  running it, publishes after commit (`job_changed` -> `publish_jobs`); Redis carries it to every ASGI
  process.
* relay (in-memory layer, the embedded default): that layer lives in the web process's memory, so the
  worker cannot publish into it. Instead the ASGI process runs one relay task (portal.relay) that reads
  the job rows changed since its last read, using the indexed `AsyncJob.updated` stamp, and group-sends
  them itself. Publishers do nothing in this mode, so nothing is sent twice.

`relay_mode()` picks the way from the configured layer; CIRROSTACK_LIVE_RELAY (True/False) overrides it.
VM updates are derived from job updates: every VM state change happens inside a VM's job, and each job
change is published together with the VM as it is in the database at that moment.

Messages are state, not deltas ({"type": "job", "job": {...}} / {"type": "vm", "vm": {...}}): repeating or
coalescing them is harmless, which is what lets the relay skip intermediate states between two reads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.urls import reverse

from accounts.models import User
from compute.selectors import VmFilters, vm_list
from portal.authz import authorize, reach
from portal.models import AsyncJob
from portal.selectors import job_list

logger = logging.getLogger(__name__)

# Where browsers connect (portal.routing); the tray template hands it to static/js/live.js.
WS_PATH = "/ws/jobs/"
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
# The channel-layer event every live message travels in; portal.consumers.LiveConsumer.live_push forwards it.
EVENT_TYPE = "live.push"
ROOT_GROUP = "live.root"
# The authorization a socket needs: it shows the jobs its user could list (portal.authz).
WATCH_ACTION = "job.list"
# A browser joins one group per VM granted to its user; beyond this many, the grants stop being live.
MAX_GRANT_GROUPS = 200
SNAPSHOT_SIZE = 20


@dataclass(frozen=True)
class LiveObject:
    """An object kind whose state follows its jobs (a job's instance_type names it)."""

    model: str  # app_label.ModelName
    message_type: str  # "vm": the browser receives {"type": "vm", "vm": {...}}
    url_name: str  # its UI page, reversed with the object's uuid


# instance_type -> kind. Later capabilities (volumes, ...) add theirs here.
LIVE_OBJECTS: dict[str, LiveObject] = {
    "virtualmachine": LiveObject("compute.VirtualMachine", "vm", "compute:vm_detail"),
}


@dataclass(frozen=True)
class Update:
    """One message for the browsers of some groups."""

    groups: tuple[str, ...]
    payload: dict[str, Any]
    # For an object's message: (instance_type, uuid) and its state, so a reader can skip unchanged ones.
    object_key: tuple[str, str] | None = None
    state: str = ""

    @property
    def event(self) -> dict[str, Any]:
        return {"type": EVENT_TYPE, "payload": self.payload}


# --- routing ------------------------------------------------------------------------------------------

def account_group(account_id: int) -> str:
    return f"live.account.{account_id}"


def domain_group(domain_path: str) -> str:
    # Domain names may hold characters a group name may not, and paths can outgrow its 100 characters.
    return "live.domain." + hashlib.sha256(domain_path.encode()).hexdigest()[:40]


def vm_group(vm_uuid: object) -> str:
    return f"live.vm.{vm_uuid}"


def owner_groups(account_id: int, domain_path: str) -> tuple[str, ...]:
    """Every group whose members may see a row owned by this account in this domain.

    A domain admin sees a row when the row's domain path starts with theirs; paths end with "/", so that is
    exactly when their path is one of the "/"-terminated prefixes of the row's path.
    """
    prefixes = [domain_path[: i + 1] for i, char in enumerate(domain_path) if char == "/"]
    return (account_group(account_id), *(domain_group(prefix) for prefix in prefixes), ROOT_GROUP)


def viewer_groups(caller: User) -> list[str]:
    """The groups a browser of this user joins: its tenancy reach, plus the VMs granted to it.

    Raises NotAuthenticated / PermissionDenied like listing jobs would: the socket shows the same jobs.
    """
    authorize(caller, WATCH_ACTION)
    tenancy = reach(caller)
    if tenancy.everything:
        return [ROOT_GROUP]
    groups = [domain_group(tenancy.domain_path) if tenancy.domain_path else account_group(tenancy.account_id)]
    granted = tenancy.excluded(vm_list(caller=caller, filters=VmFilters(include_destroyed=True)))
    groups += [vm_group(vm_uuid) for vm_uuid in granted.values_list("uuid", flat=True)[:MAX_GRANT_GROUPS]]
    return groups


# --- payloads -----------------------------------------------------------------------------------------

def load_objects(jobs: Iterable[AsyncJob]) -> dict[tuple[str, str], Model]:
    """The objects the jobs are about, one query per object kind (in practice: one)."""
    wanted: dict[str, set[str]] = {}
    for job in jobs:
        if job.instance_type in LIVE_OBJECTS and job.instance_id:
            wanted.setdefault(job.instance_type, set()).add(job.instance_id)
    found: dict[tuple[str, str], Model] = {}
    for instance_type, ids in wanted.items():
        model = apps.get_model(LIVE_OBJECTS[instance_type].model)
        for obj in model.objects.select_related("domain").filter(uuid__in=ids):
            found[(instance_type, str(obj.uuid))] = obj
    return found


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None


def job_payload(job: AsyncJob, instance: Model | None) -> dict[str, Any]:
    result = job.result or {}
    return {
        "id": str(job.uuid),
        "cmd": job.cmd,
        "status": AsyncJob.Status(job.status).name.lower(),
        "status_code": int(job.status),
        "progress": job.progress,
        "instance_type": job.instance_type,
        "instance_id": job.instance_id,
        "instance_name": getattr(instance, "name", "") if instance is not None else "",
        "url": reverse("ui:job_detail", args=[job.uuid]),
        "created": _iso(job.created),
        "completed": _iso(job.completed),
        "error": result.get("errortext", "") if job.status == AsyncJob.Status.FAILED else "",
    }


def object_update(instance_type: str, obj: Model) -> Update:
    kind = LIVE_OBJECTS[instance_type]
    body = {"id": str(obj.uuid), "name": getattr(obj, "name", ""), "state": obj.state,
            "url": reverse(kind.url_name, args=[obj.uuid])}
    groups = (*owner_groups(obj.account_id, obj.domain.path), vm_group(obj.uuid))
    return Update(groups=groups, payload={"type": kind.message_type, kind.message_type: body},
                  object_key=(instance_type, body["id"]), state=obj.state)


def job_update(job: AsyncJob, instance: Model | None) -> Update:
    return Update(groups=owner_groups(job.account_id, job.domain.path),
                  payload={"type": "job", "job": job_payload(job, instance)})


def updates_for(jobs: Sequence[AsyncJob]) -> list[Update]:
    """Messages for changed jobs (select_related("domain")): each job, then each object they are about."""
    objects = load_objects(jobs)
    updates = [job_update(job, objects.get((job.instance_type, job.instance_id))) for job in jobs]
    sent: set[tuple[str, str]] = set()
    for job in jobs:
        key = (job.instance_type, job.instance_id)
        obj = objects.get(key)
        if obj is not None and key not in sent and getattr(obj, "removed", None) is None:
            sent.add(key)
            updates.append(object_update(job.instance_type, obj))
    return updates


def snapshot(caller: User) -> list[dict[str, Any]]:
    """The caller's pending jobs, sent when a socket opens: the tray starts from them, and a reconnecting
    browser learns which of its jobs ended while it was away."""
    jobs = list(job_list(caller=caller, pending_only=True)[:SNAPSHOT_SIZE])
    objects = load_objects(jobs)
    return [job_payload(job, objects.get((job.instance_type, job.instance_id))) for job in jobs]


# --- publishing ---------------------------------------------------------------------------------------

def relay_mode() -> bool:
    """Whether the relay (not the publishers) feeds the channel layer: an in-memory layer cannot be
    reached from the worker process."""
    configured = getattr(settings, "CIRROSTACK_LIVE_RELAY", None)
    if configured is not None:
        return bool(configured)
    layers = getattr(settings, "CHANNEL_LAYERS", {}) or {}
    return layers.get("default", {}).get("BACKEND") == IN_MEMORY_LAYER


async def send_updates(layer: BaseChannelLayer, updates: Iterable[Update]) -> None:
    for update in updates:
        for group in update.groups:
            await layer.group_send(group, update.event)


def job_changed(job_pk: int) -> None:
    """portal.jobs calls this after every change of a job row. In direct mode the change is published
    once the surrounding transaction commits (at once outside one); the relay needs nothing."""
    if relay_mode():
        return
    transaction.on_commit(lambda: publish_jobs([job_pk]))


def publish_jobs(job_pks: Sequence[int]) -> None:
    """Send the jobs as they are now in the database, and the objects they are about.

    A failure is logged, never raised: the job's work is done and recorded, and a browser that missed the
    message shows the truth on its next page load.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        jobs = list(AsyncJob.objects.select_related("domain").filter(pk__in=job_pks))
        async_to_sync(send_updates)(layer, updates_for(jobs))
    except Exception:
        logger.exception("live: could not publish jobs %s", list(job_pks))
