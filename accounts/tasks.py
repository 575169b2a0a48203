"""Job handlers of tenancy administration: disabling an account, deleting accounts and domains.

They run in a worker of the default queue and never touch a hypervisor: VMs are stopped, destroyed and
expunged through compute's services, whose jobs run on each VM's host queue. A handler that must wait for
those jobs raises JobDeferred and runs again a few seconds later (nothing blocks meanwhile); with the test
suite's eager jobs the VM jobs run first and the handler's next run finds them done.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.limits import ResourceCount
from accounts.models import Account, Domain, User
from accounts.services_domains import domains_remove
from accounts.services_limits import resource_release
from accounts.services_users import user_disable_apply, users_remove
from portal.errors import OperationFailed, ResourceInUse
from portal.jobs import JobDeferred, JobOutcome
from portal.models import AsyncJob

logger = logging.getLogger(__name__)

# Seconds between two runs of a job that waits for VM jobs, and how many runs it waits at most (an hour).
WAIT_SECONDS = 5.0
MAX_WAITS = 720


def _wait(job: AsyncJob, done: int, total: int) -> JobDeferred:
    """Count one more wait in the job's params; give up (the job fails) after MAX_WAITS."""
    waits = int(job.params.get("waits", 0)) + 1
    if waits > MAX_WAITS:
        raise OperationFailed(_("Gave up waiting for the VM jobs of this operation; see the VMs' jobs."))
    AsyncJob.objects.filter(pk=job.pk).update(params={**job.params, "waits": waits})
    job.params["waits"] = waits
    progress = 10 + int(80 * done / total) if total else 50
    return JobDeferred(countdown=WAIT_SECONDS, progress=progress)


def _busy_vm_ids(vms: list) -> set[str]:
    """The VMs among these that have a job pending (their state is about to change: wait for it)."""
    ids = [str(vm.uuid) for vm in vms]
    return set(AsyncJob.objects.filter(instance_type="virtualmachine", instance_id__in=ids,
                                       status=AsyncJob.Status.PENDING).values_list("instance_id", flat=True))


def _vms_of(accounts: QuerySet[Account]) -> list:
    from compute.models import VirtualMachine

    return list(VirtualMachine.objects.select_related("account", "host", "last_host", "service_offering")
                .filter(account__in=accounts))


# --- disable -------------------------------------------------------------------------------------------

def run_account_disable(job: AsyncJob) -> JobOutcome:
    """Stop every running VM of a disabled account and wait until none runs; a locked account keeps them."""
    from compute import services as compute_services
    from compute.states import VmState

    account = Account.objects.filter(uuid=job.instance_id).first()
    if account is None:
        raise OperationFailed(_("The account is gone."))
    if job.params.get("lock") or account.state != Account.State.DISABLED:
        return JobOutcome.of(account)  # locked, or enabled again meanwhile: nothing to stop
    vms = [vm for vm in _vms_of(Account.objects.filter(pk=account.pk))
           if vm.state in (VmState.RUNNING, VmState.STARTING, VmState.STOPPING)]
    busy = _busy_vm_ids(vms)
    for vm in vms:
        if vm.state == VmState.RUNNING and str(vm.uuid) not in busy:
            compute_services.vm_stop(caller=job.user, vm=vm)
    if vms:
        raise _wait(job, 0, len(vms))
    return JobOutcome.of(account)


def run_user_disable(job: AsyncJob) -> JobOutcome:
    user = User.objects.filter(uuid=job.instance_id).first()
    if user is None:
        raise OperationFailed(_("The user is gone."))
    user_disable_apply(user=user)
    return JobOutcome.of(user)


# --- delete --------------------------------------------------------------------------------------------

def _release_vms(job: AsyncJob, accounts: QuerySet[Account]) -> tuple[int, int]:
    """One step of taking the accounts' VMs down: destroy what still exists, expunge what is destroyed, and
    wait for whatever has a job running. Returns (VMs gone, VMs in all)."""
    from compute import services as compute_services
    from compute.states import VmState

    vms = _vms_of(accounts)
    busy = _busy_vm_ids(vms)
    gone = 0
    for vm in vms:
        if vm.removed is not None:
            gone += 1
        elif str(vm.uuid) in busy:
            continue
        elif vm.state in (VmState.RUNNING, VmState.STOPPED, VmState.ERROR):
            compute_services.vm_destroy(caller=job.user, vm=vm)
        elif vm.state == VmState.DESTROYED:
            compute_services.vm_expunge(caller=job.user, vm=vm)
        elif vm.state == VmState.EXPUNGING:
            # Its expunge job ended without removing it: the host could not delete its volumes.
            raise OperationFailed(_("VM %(name)s could not be expunged; see its expunge job.") % {"name": vm.name})
    return gone, len(vms)


@transaction.atomic
def _account_remove(account: Account) -> None:
    """Everything of an account whose VMs are expunged: the rest of its counts released in every ancestor
    domain, its rows, its users (with their credentials), the account. Its jobs go with it (they are
    operational state); its events stay, detached, as root admins' audit trail (portal.models.Event)."""
    from compute.models import VirtualMachine
    from storage.models import Template, Volume

    for counter in ResourceCount.objects.filter(account=account, count__gt=0):
        resource_release(account=account, resource_type=counter.resource_type, amount=counter.count)
    templates = Template.objects.filter(account=account)
    used = (VirtualMachine.objects.filter(template__in=templates).exclude(account=account).exists()
            or Volume.objects.filter(template__in=templates).exclude(account=account).exists())
    if used:
        raise ResourceInUse(_("Templates of account %(name)s are used by VMs of other accounts; delete those VMs "
                              "or the templates' use first.") % {"name": account.name})
    Volume.objects.filter(account=account).delete()
    VirtualMachine.objects.filter(account=account).delete()
    templates.delete()
    AsyncJob.objects.filter(account=account).delete()
    users_remove(users=list(User.objects.filter(account=account)))
    account.delete()


def _accounts_cleanup(job: AsyncJob, accounts: QuerySet[Account]) -> None:
    """Delete the accounts once their VMs are gone; until then, defer the job."""
    gone, total = _release_vms(job, accounts)
    if gone < total:
        raise _wait(job, gone, total)
    for account in accounts.order_by("pk"):
        _account_remove(account)


def run_account_delete(job: AsyncJob) -> JobOutcome:
    accounts = Account.objects.filter(pk=job.params.get("account"))
    name = accounts.values_list("name", flat=True).first()
    if name is None:
        return JobOutcome(text=_("The account was already deleted."))
    _accounts_cleanup(job, accounts)
    return JobOutcome(text=_("Deleted account %(name)s.") % {"name": name})


def run_domain_delete(job: AsyncJob) -> JobOutcome:
    domain = Domain.objects.filter(uuid=job.instance_id).first()
    if domain is None:
        return JobOutcome(text=_("The domain was already deleted."))
    cleanup = bool(job.params.get("cleanup"))
    if cleanup:
        _accounts_cleanup(job, Account.objects.filter(domain__path__startswith=domain.path))
    path = domain.cloudstack_path
    domains_remove(domain=domain, cleanup=cleanup)
    return JobOutcome(text=_("Deleted domain %(path)s.") % {"path": path})
