"""The only door between Cirrostack and the hypervisors.

This is the one package allowed to ``import libvirt``, and it deliberately does not import
Django. The boundary exists because:

* libvirt objects keep their connection alive, cannot be pickled and raise libvirt's own
  exception type; keeping them inside this package means the rest of the code (models, views,
  API, Celery tasks) only handles plain dataclasses, enums, dicts and strings.
* connection management (pooling, keepalive, reconnect, one retry) lives in exactly one place
  instead of being reimplemented, slightly differently, at every call site.
* the web process must never open a hypervisor connection: ``get_connection`` refuses unless
  the process opted in with ``allow_connections(True)`` (Celery workers, tests) or
  ``CIRROSTACK_HYPERVISOR_CONNECTIONS=1``. Views enqueue tasks instead.
* without Django the package can be tested against libvirt's ``test:///default`` driver in
  milliseconds and reused by any worker process.

Every function takes a libvirt URI first; every libvirt failure surfaces as a subclass of
:class:`HypervisorError` carrying libvirt's code and message.
"""

from .connection import (
    allow_connections,
    close_all,
    connections_allowed,
    get_connection,
    registered_credentials,
    set_credentials,
)
from .devices import attach_disk, change_media, detach_disk, set_iotune, set_memory, set_vcpus, upload_volume
from .errors import (
    ConnectionFailed,
    ConnectionsNotAllowed,
    DeviceNotFound,
    DomainNotFound,
    HypervisorError,
    MigrationFailed,
    PoolNotFound,
    SnapshotNotFound,
    SnapshotUnsupported,
    VolumeNotFound,
)
from .migration import migrate_domain
from .operations import (
    DomainState,
    HostFacts,
    VncEndpoint,
    create_volume,
    define_domain,
    delete_volume,
    destroy_domain,
    domain_state,
    domain_stats,
    domain_xml,
    ensure_dir_pool,
    host_facts,
    list_domains,
    ping,
    pool_refresh,
    reboot_domain,
    shutdown_domain,
    start_domain,
    undefine_domain,
    vnc_endpoint,
    vnc_port,
)
from .pools import PoolInfo, ensure_pool, pool_info, remove_pool
from .snapshots import snapshot_create, snapshot_delete, snapshot_list, snapshot_revert
from .xml import (
    DiskSpec,
    DomainSpec,
    IoTune,
    PoolSpec,
    build_dir_pool_xml,
    build_disk_xml,
    build_domain_xml,
    build_pool_xml,
    build_volume_xml,
)

__all__ = [
    "ConnectionFailed",
    "ConnectionsNotAllowed",
    "DeviceNotFound",
    "DiskSpec",
    "DomainNotFound",
    "DomainSpec",
    "DomainState",
    "HostFacts",
    "HypervisorError",
    "IoTune",
    "MigrationFailed",
    "PoolInfo",
    "PoolNotFound",
    "PoolSpec",
    "SnapshotNotFound",
    "SnapshotUnsupported",
    "VncEndpoint",
    "VolumeNotFound",
    "allow_connections",
    "attach_disk",
    "build_dir_pool_xml",
    "build_disk_xml",
    "build_domain_xml",
    "build_pool_xml",
    "build_volume_xml",
    "change_media",
    "close_all",
    "connections_allowed",
    "create_volume",
    "define_domain",
    "delete_volume",
    "destroy_domain",
    "detach_disk",
    "domain_state",
    "domain_stats",
    "domain_xml",
    "ensure_dir_pool",
    "ensure_pool",
    "get_connection",
    "host_facts",
    "list_domains",
    "migrate_domain",
    "ping",
    "pool_info",
    "pool_refresh",
    "reboot_domain",
    "registered_credentials",
    "remove_pool",
    "set_credentials",
    "set_iotune",
    "set_memory",
    "set_vcpus",
    "shutdown_domain",
    "snapshot_create",
    "snapshot_delete",
    "snapshot_list",
    "snapshot_revert",
    "start_domain",
    "undefine_domain",
    "upload_volume",
    "vnc_endpoint",
    "vnc_port",
]
