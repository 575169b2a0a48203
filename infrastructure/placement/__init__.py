"""Placement: which host (and primary storage) a VM goes to, and reserving the room atomically.

`hosts` holds the atomic reservation; `planners` the CloudStack planners that order the clusters and drive a
placement; `allocators` the vm.allocation.algorithm orders of hosts within a cluster. Services import from
here."""

from infrastructure.placement.allocators import ALGORITHMS, rng
from infrastructure.placement.hosts import host_release, host_reserve, try_reserve, usable_hosts
from infrastructure.placement.planners import PLANNERS, Placement, Request, place_vm, plan

__all__ = ["ALGORITHMS", "PLANNERS", "Placement", "Request", "host_release", "host_reserve",
           "place_vm", "plan", "rng", "try_reserve", "usable_hosts"]
