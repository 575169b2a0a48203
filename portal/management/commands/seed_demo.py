"""Seed the embedded demo: a root admin, one zone/pod/cluster, a simulated host, an offering, a template.

Safe to run again: existing rows are kept; the admin password is reset only when CIRROSTACK_ADMIN_PASSWORD
is given.
"""

from __future__ import annotations

import os
import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services as account_services
from accounts.models import Account, User
from compute.models import ServiceOffering
from infrastructure.models import Cluster, Host, Pod, Zone
from storage.models import Template

SIMULATOR_URI = "test:///default"


class Command(BaseCommand):
    help = "Create the demo cloud of the embedded default configuration (idempotent)."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        root = account_services.root_domain_ensure()
        admin_account = Account.objects.filter(domain=root, name="admin").first() or \
            account_services.account_provision(name="admin", domain=root, account_type=Account.Type.ROOT_ADMIN)
        password = os.environ.get("CIRROSTACK_ADMIN_PASSWORD", "")
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            generated = not password
            password = password or secrets.token_urlsafe(12)
            admin = account_services.user_provision(account=admin_account, username="admin", password=password)
            if generated:
                self.stdout.write(self.style.WARNING(f"Root admin created: admin / {password}"))
            else:
                self.stdout.write("Root admin created: admin (password from CIRROSTACK_ADMIN_PASSWORD)")
        elif password:
            admin.set_password(password)
            admin.save(update_fields=["password"])
            self.stdout.write("Root admin password set from CIRROSTACK_ADMIN_PASSWORD")

        zone, _ = Zone.objects.get_or_create(name="Zone1", defaults={"description": "Demo zone",
                                                                     "dns1": "127.0.0.1"})
        pod, _ = Pod.objects.get_or_create(zone=zone, name="Pod1")
        # The simulator reports 16 CPUs at 1.4 GHz and 3 GiB: overprovisioned 4x, the demo holds a couple
        # of dozen small VMs instead of five (the cluster disable threshold keeps 15% free).
        cluster, _ = Cluster.objects.get_or_create(pod=pod, name="Cluster1", defaults={
            "zone": zone, "cpu_overprovisioning": 4.0, "memory_overprovisioning": 4.0})
        if not Host.objects.filter(url=SIMULATOR_URI).exists():
            Host.objects.create(name="simulator-1", zone=zone, pod=pod, cluster=cluster, url=SIMULATOR_URI,
                                domain_type=Host.DomainType.TEST, status=Host.Status.CONNECTING,
                                storage_path="/cirrostack/simulator/primary")
        ServiceOffering.objects.get_or_create(
            name="Small Instance",
            defaults={"display_text": "1 vCPU, 1 GHz, 512 MiB", "cpu_number": 1, "cpu_speed": 1000,
                      "memory": 512})
        ServiceOffering.objects.get_or_create(
            name="Medium Instance",
            defaults={"display_text": "2 vCPU, 1 GHz, 2 GiB", "cpu_number": 2, "cpu_speed": 1000,
                      "memory": 2048})
        Template.objects.get_or_create(
            name="Tiny Linux",
            defaults={"display_text": "A tiny Linux guest (simulated on the demo host)",
                      "url": "simulator://tiny-linux", "size": 64 * 2**20, "is_public": True,
                      "is_featured": True, "account": admin_account, "domain": root})
        self.stdout.write(self.style.SUCCESS("Demo cloud ready: Zone1 / Pod1 / Cluster1 / simulator-1"))
