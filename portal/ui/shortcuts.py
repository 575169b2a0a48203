"""Helpers shared by the web UI's views (portal.ui and compute.views): error mapping, job rows.

The UI is a door: these helpers only translate service outcomes into HTTP and shape rows for templates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from compute.models import VirtualMachine
from compute.selectors import VmFilters, vm_list
from portal.errors import NotAuthenticated, NotFound, PermissionDenied
from portal.models import AsyncJob
from portal.selectors import job_list

VM_INSTANCE_TYPE = "virtualmachine"

# Human names for job commands; unknown commands are shown as they are.
CMD_LABELS = {
    "deployVirtualMachine": _("Deploy VM"),
    "startVirtualMachine": _("Start VM"),
    "stopVirtualMachine": _("Stop VM"),
    "rebootVirtualMachine": _("Reboot VM"),
    "destroyVirtualMachine": _("Destroy VM"),
    "expungeVirtualMachine": _("Expunge VM"),
    "disableAccount": _("Disable account"),
    "deleteAccount": _("Delete account"),
    "deleteDomain": _("Delete domain"),
    "disableUser": _("Disable user"),
}


def cmd_label(cmd: str) -> str:
    return str(CMD_LABELS.get(cmd, cmd))


def http_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Map lookup and permission refusals to 404/403, so another tenant's object looks like no object."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except (PermissionDenied, NotAuthenticated) as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def pending_jobs_by_instance(
    *, caller: User, instance_type: str, instance_ids: Iterable[object]
) -> dict[str, AsyncJob]:
    """The newest pending job of each listed object, in one query for all of them."""
    ids = [str(i) for i in instance_ids]
    if not ids:
        return {}
    jobs = job_list(caller=caller, pending_only=True).filter(instance_type=instance_type, instance_id__in=ids)
    result: dict[str, AsyncJob] = {}
    for job in jobs.order_by("created", "id"):
        result[job.instance_id] = job  # later (newer) jobs win
    return result


@dataclass(frozen=True)
class JobRow:
    job: AsyncJob
    label: str
    vm: VirtualMachine | None


def job_rows(*, caller: User, jobs: Iterable[AsyncJob]) -> list[JobRow]:
    """Jobs with their human label and linked VM (looked up in one scoped query)."""
    jobs = list(jobs)
    vm_ids = {job.instance_id for job in jobs if job.instance_type == VM_INSTANCE_TYPE and job.instance_id}
    vms: dict[str, VirtualMachine] = {}
    if vm_ids:
        found = vm_list(caller=caller, filters=VmFilters(include_destroyed=True)).filter(uuid__in=vm_ids)
        vms = {str(vm.uuid): vm for vm in found}
    return [JobRow(job=job, label=cmd_label(job.cmd), vm=vms.get(job.instance_id)) for job in jobs]
