"""Fixtures of the web UI tests: logged-in clients, a domain admin's subtree, a compiled Simplified Chinese
catalog."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import Account, Domain, User
from compute import services
from tests import factories

ZH_PO = Path(settings.BASE_DIR) / "portal" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture
def login():
    """login(user) -> a Client with that user's session."""

    def make(user, **client_kwargs) -> Client:
        client = Client(**client_kwargs)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def deploy_vm(cloud, run_jobs):
    """deploy_vm(caller, name, run=True) -> VM deployed through the service (its job run unless run=False)."""

    def deploy(caller, name, run=True, **kwargs):
        kwargs = {"zone": cloud.zone, "service_offering": cloud.offering, "template": cloud.template, **kwargs}
        if run:
            with run_jobs():
                vm, _job = services.vm_deploy(caller=caller, name=name, **kwargs)
        else:
            vm, _job = services.vm_deploy(caller=caller, name=name, **kwargs)
        vm.refresh_from_db()
        return vm

    return deploy


@pytest.fixture(scope="session")
def zh_catalog() -> None:
    """The .mo files are built at setup time (compilemessages); build the zh-Hans one here if it is missing
    or older than its .po, so a fresh checkout can run the UI tests."""
    mo = ZH_PO.with_suffix(".mo")
    if not ZH_PO.exists():
        pytest.fail(f"{ZH_PO} is missing")
    if mo.exists() and mo.stat().st_mtime >= ZH_PO.stat().st_mtime:
        return
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt (GNU gettext) is needed to compile the zh-Hans catalog: apt-get install gettext")
    subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(ZH_PO)], check=True)
    # Catalogs loaded before the .mo existed are cached per language; drop them.
    from django.utils.translation import trans_real

    trans_real._translations = {}
    trans_real._default = None
    translation.activate(settings.LANGUAGE_CODE)


@dataclass
class Tenants:
    """Beyond `cloud`: a Sales subdomain with its domain admin and an end user in it."""

    sales: Domain
    domain_admin: User
    carol: User


@pytest.fixture
def tenants(cloud) -> Tenants:
    root = cloud.alice.account.domain
    sales = factories.DomainFactory(name="Sales", parent=root)
    return Tenants(
        sales=sales,
        domain_admin=factories.UserFactory(username="salesadmin", account__name="sales-admins",
                                           account__domain=sales, account__account_type=Account.Type.DOMAIN_ADMIN),
        carol=factories.UserFactory(username="carol", account__name="carol", account__domain=sales),
    )
