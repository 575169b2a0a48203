"""Host allocators: the order in which the hosts of one cluster are tried (CloudStack's
vm.allocation.algorithm).

random and userconcentratedpod_random shuffle (the pod concentration itself is the planner's); firstfit and
userconcentratedpod_firstfit take the oldest host first; userdispersing the host running the fewest of the
account's VMs; firstfitleastconsumed the host with the lowest allocated CPU share, then memory share. The
hosts arrive already filtered (state, tags, room), so an allocator only orders.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ALGORITHMS = ("random", "firstfit", "userdispersing", "userconcentratedpod_random",
              "userconcentratedpod_firstfit", "firstfitleastconsumed")

# The source of "random": a module instance, so a test can seed it (`placement.rng.seed(n)`).
rng = random.Random()


@dataclass
class Candidate:
    """A host that passed the SQL filter, with the limits its cluster's overprovisioning gives it."""

    pk: int
    cluster_id: int
    pod_id: int
    cpu_limit: float
    memory_limit: float
    cpu_allocated: int
    memory_allocated: int


def order_hosts(algorithm: str, hosts: list[Candidate],
                host_vms: dict[int, int] | None) -> list[Candidate]:
    """The allocator's host order within one cluster (host_vms: the account's VMs per host, for
    userdispersing)."""
    by_id = sorted(hosts, key=lambda c: c.pk)
    if algorithm in ("firstfit", "userconcentratedpod_firstfit"):
        return by_id
    if algorithm == "userdispersing":
        return sorted(by_id, key=lambda c: ((host_vms or {}).get(c.pk, 0), c.pk))
    if algorithm == "firstfitleastconsumed":
        return sorted(by_id, key=lambda c: (c.cpu_allocated / c.cpu_limit if c.cpu_limit else 1.0,
                                            c.memory_allocated / c.memory_limit if c.memory_limit else 1.0, c.pk))
    rng.shuffle(by_id)  # random, userconcentratedpod_random
    return by_id
