"""Shared fixtures. Hypervisor work runs for real on libvirt's test driver; Celery runs jobs eagerly in
the test process unless a test starts a real worker."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import Account, User
from compute.models import ServiceOffering, VirtualMachine
from compute.services_console import console_fields
from infrastructure import hypervisor as hv
from infrastructure.models import Host, Zone
from portal.celery import app as celery_app
from storage.models import Template
from tests import factories
from tests.support.vms import running_vm


@pytest.fixture(autouse=True)
def _hypervisor_connections():
    """Allow hypervisor connections in the test process and reset test:///default between tests."""
    hv.allow_connections(True)
    yield
    hv.close_all()
    hv.allow_connections(False)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Fixtures hash several passwords per test; PBKDF2's real cost would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@dataclass
class Cloud:
    zone: Zone
    host: Host
    offering: ServiceOffering
    template: Template
    admin: User
    alice: User
    bob: User


@pytest.fixture
def cloud(db) -> Cloud:
    """A small cloud: one zone with one simulator host, an offering, a public template, a root admin and
    two end users in different accounts."""
    root = factories.DomainFactory()
    admin_account = factories.AccountFactory(name="admin", domain=root, account_type=Account.Type.ROOT_ADMIN)
    host = factories.HostFactory()
    return Cloud(
        zone=host.zone,
        host=host,
        offering=factories.ServiceOfferingFactory(name="Small"),
        template=factories.TemplateFactory(name="Tiny", account=admin_account, domain=root),
        admin=factories.UserFactory(username="admin", account=admin_account),
        alice=factories.UserFactory(username="alice", account__name="alice", account__domain=root),
        bob=factories.UserFactory(username="bob", account__name="bob", account__domain=root),
    )


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Context manager: jobs submitted inside it run (eagerly, for real on the test driver) on commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def console_vm(cloud, run_jobs) -> VirtualMachine:
    """alice's running VM on the simulator, with a console recorded as the agent records one (the simulator's
    domains have no VNC port of their own): port 5901, password "pw"."""
    vm = running_vm(cloud, run_jobs, name="web1")
    VirtualMachine.objects.filter(pk=vm.pk).update(**console_fields(hv.VncEndpoint(port=5901, password="pw")))
    vm.refresh_from_db()
    return vm
