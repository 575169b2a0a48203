"""Placement benchmark: one placement decision in a zone of 10,000 hosts, and 100 deploys racing for 50 places.

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/placement.py                      # SQLite (the race part needs PostgreSQL)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cirrostack .venv/bin/python benchmarks/placement.py

It creates a throwaway test database (Django's test_<name>, dropped at the end), never the configured one,
and prints the figures. Jobs go to an in-memory broker: only the placement and the service are measured.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["CELERY_BROKER_URL"] = "memory://"  # queued jobs stay in this process, nothing runs them

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402

MIB, GIB = 2**20, 2**30


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _figures(label: str, samples: list[float]) -> None:
    print(f"{label}: n={len(samples)} median={statistics.median(samples) * 1000:.1f} ms "
          f"p95={_percentile(samples, 0.95) * 1000:.1f} ms max={max(samples) * 1000:.1f} ms")


def build_zone(hosts: int, clusters: int, seed: int):
    """A zone of `hosts` Up hosts spread over `clusters` clusters in 10 pods, randomly 0-80 % allocated."""
    from accounts.models import Account
    from infrastructure.models import Cluster, Host, Pod, Zone
    from tests import factories

    randomiser = random.Random(seed)
    zone = Zone.objects.create(name="bench")
    pods = [Pod.objects.create(zone=zone, name=f"pod{n}") for n in range(10)]
    cluster_rows = Cluster.objects.bulk_create(
        Cluster(zone=zone, pod=pods[n % len(pods)], name=f"cluster{n}") for n in range(clusters))
    memory, cpu = 64 * GIB, 32 * 2000
    Host.objects.bulk_create(
        (Host(name=f"host{n}", zone=zone, pod_id=cluster.pod_id, cluster=cluster, url="test:///default",
              domain_type=Host.DomainType.TEST, status=Host.Status.UP, cpu_cores=32, cpu_speed=2000,
              memory_total=memory, cpu_allocated=int(cpu * randomiser.uniform(0, 0.8)),
              memory_allocated=int(memory * randomiser.uniform(0, 0.8)),
              host_tags="ssd" if n % 3 == 0 else "", storage_path="/cirrostack/bench/primary")
         for n in range(hosts) for cluster in (cluster_rows[n % clusters],)),
        batch_size=1000)
    root = factories.DomainFactory()
    admin = factories.UserFactory(username="admin", account=factories.AccountFactory(
        name="admin", domain=root, account_type=Account.Type.ROOT_ADMIN))
    owner = factories.UserFactory(username="bench", account__name="bench", account__domain=root)
    offering = factories.ServiceOfferingFactory(name="Bench", cpu_number=1, cpu_speed=1000, memory=512)
    template = factories.TemplateFactory(name="bench", account=admin.account, domain=root)
    return zone, admin, owner, offering, template


def measure_decision(zone, owner, offering, runs: int) -> None:
    """plan() alone, then plan + reservation (place_vm) rolled back, under each planner and allocator."""
    from infrastructure.placement import Request, place_vm, plan
    from portal.configuration import GLOBAL
    from portal.services_configuration import config_update

    admin = _admin()
    for planner, algorithm in (("FirstFitPlanner", "firstfit"), ("FirstFitPlanner", "random"),
                               ("UserDispersingPlanner", "userdispersing"),
                               ("UserConcentratedPodPlanner", "firstfitleastconsumed")):
        config_update(caller=admin, name="vm.allocation.algorithm", value=algorithm, target=GLOBAL)
        for tags in ((), ("ssd",)):
            request = Request(zone=zone, account=owner.account, cpu_mhz=offering.cpu_speed,
                              memory_bytes=offering.memory * MIB, planner=planner, host_tags=tags)
            samples, queries = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                order = plan(request)
                samples.append(time.perf_counter() - started)
            label = f"plan {planner}/{algorithm}{' tags=ssd' if tags else ''} ({len(order)} candidates)"
            _figures(label, samples)
            samples = []
            for _ in range(runs):
                with transaction.atomic():
                    started = time.perf_counter()
                    queries_before = len(connection.queries)
                    place_vm(request)
                    samples.append(time.perf_counter() - started)
                    queries = len(connection.queries) - queries_before
                    transaction.set_rollback(True)
            _figures(f"  place_vm (plan + reserve, rolled back; {queries} queries)", samples)


def _admin():
    from accounts.models import User

    return User.objects.get(username="admin")


def measure_race(zone, owner, offering, template, deploys: int, places: int) -> None:
    """Fill every host, then open `places` VM slots on 10 hosts of one cluster and race `deploys` deploys."""
    from accounts.limits import ResourceType
    from accounts.services_limits import resource_limit_update
    from compute.models import VirtualMachine
    from compute.services import vm_deploy
    from infrastructure.models import Cluster, Host
    from portal.configuration import GLOBAL
    from portal.errors import InsufficientCapacity
    from portal.services_configuration import config_update

    if connection.vendor != "postgresql":
        print("race: skipped (needs PostgreSQL: set DATABASE_URL; SQLite serialises writers)")
        return
    admin = _admin()
    for name in ("cluster.cpu.allocated.capacity.disablethreshold",
                 "cluster.memory.allocated.capacity.disablethreshold"):
        config_update(caller=admin, name=name, value="1.0", target=GLOBAL)
    for resource_type in ResourceType.values:
        resource_limit_update(caller=admin, account=owner.account, resource_type=resource_type, max=-1)
    Host.objects.filter(zone=zone).update(memory_allocated=64 * GIB)
    race_cluster = Cluster.objects.filter(zone=zone).order_by("pk").first()
    roomy = list(Host.objects.filter(cluster=race_cluster).order_by("pk").values_list("pk", flat=True)[:10])
    per_host = places // len(roomy)
    Host.objects.filter(pk__in=roomy).update(memory_allocated=64 * GIB - per_host * offering.memory * MIB,
                                             cpu_allocated=0)
    barrier = threading.Barrier(deploys)
    outcomes: list[str] = []
    latencies: list[float] = []

    def attempt(index: int) -> None:
        try:
            barrier.wait()
            started = time.perf_counter()
            try:
                vm_deploy(caller=owner, zone=zone, service_offering=offering, template=template,
                          name=f"race-{index}")
                outcomes.append("placed")
            except InsufficientCapacity:
                outcomes.append("533")
            latencies.append(time.perf_counter() - started)
        finally:
            close_old_connections()
            connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=attempt, args=(index,)) for index in range(deploys)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    placed = outcomes.count("placed")
    vms = VirtualMachine.objects.filter(account=owner.account).count()
    print(f"race: {deploys} deploys for {places} places in {wall:.2f} s: placed={placed} "
          f"refused(533)={outcomes.count('533')} other={deploys - len(outcomes)} VM rows={vms} "
          f"{'OK' if placed == vms == places else 'WRONG'}")
    _figures("  deploy latency under contention", latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30, help="placement decisions measured per configuration")
    parser.add_argument("--deploys", type=int, default=100)
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    from infrastructure import placement

    settings.DEBUG = True  # keeps connection.queries, to print the query count of a decision
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    placement.rng.seed(args.seed)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        zone, _admin_user, owner, offering, template = build_zone(args.hosts, args.clusters, args.seed)
        print(f"database: {connection.vendor}; zone of {args.hosts} hosts in {args.clusters} clusters built in "
              f"{time.perf_counter() - started:.1f} s")
        measure_decision(zone, owner, offering, args.runs)
        settings.DEBUG = False
        measure_race(zone, owner, offering, template, args.deploys, args.places)
    finally:
        close_old_connections()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
