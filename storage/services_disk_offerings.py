"""Writes of disk offerings (CloudStack's createDiskOffering, updateDiskOffering, deleteDiskOffering) and the
size a disk gets from one (`disk_offering_resolve_size`, used by deploy and by data-disk creation).

A disk offering has a fixed size or lets the user choose one within the custom.diskoffering.size.min/max
settings (GiB), names the storage tags its pool must carry, and may limit the disk's I/O (IOPS and bytes per
second, read and write), which the agent applies as libvirt iotune. Deleting one only marks it removed:
volumes made from it keep it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Domain, User
from portal.authz import authorize
from portal.configuration import config_value
from portal.errors import InvalidParameter
from portal.events import event_emit
from portal.tags import tags_text
from storage.models import DiskOffering

GIB = 2**30
RATE_FIELDS = ("iops_read_rate", "iops_write_rate", "bytes_read_rate", "bytes_write_rate")
# The CloudStack parameter of each rate, for messages.
RATE_PARAMS = {"iops_read_rate": "iopsreadrate", "iops_write_rate": "iopswriterate",
               "bytes_read_rate": "bytesreadrate", "bytes_write_rate": "byteswriterate"}


def _name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("A disk offering needs a name."))
    if len(name) > 255:
        raise InvalidParameter(_("The name is too long (at most 255 characters)."))
    return name


def _rates(rates: dict[str, int | None]) -> dict[str, int | None]:
    """I/O limits: a positive number, or empty (0 too) for no limit; libvirt takes 0 as "unlimited" as well."""
    cleaned: dict[str, int | None] = {}
    for field, value in rates.items():
        if value is not None and value < 0:
            raise InvalidParameter(_("%(param)s must not be negative.") % {"param": RATE_PARAMS[field]})
        cleaned[field] = value or None
    return cleaned


def _event(caller: User, offering: DiskOffering, type: str, description: str) -> None:
    from accounts.services_accounts import operator_account

    account = operator_account(caller)
    if account is not None:
        event_emit(type=type, description=description, account=account, user=caller, resource=offering)


@transaction.atomic
def disk_offering_create(
    *, caller: User, name: str, display_text: str = "", disk_size_gb: int | None = None,
    customized: bool | None = None, storage_tags: str | Iterable[str] | None = "", storage_type: str | None = None,
    iops_read_rate: int | None = None, iops_write_rate: int | None = None, bytes_read_rate: int | None = None,
    bytes_write_rate: int | None = None, domains: Iterable[Domain] = (), display_offering: bool = True,
) -> DiskOffering:
    """A new disk offering. Without `customized`, leaving out the size makes a custom-size offering."""
    authorize(caller, "diskoffering.create")
    name = _name(name)
    if customized is None:
        customized = disk_size_gb is None
    if customized and disk_size_gb is not None:
        raise InvalidParameter(_("A custom-size disk offering takes no disksize: the user chooses the size."))
    if not customized and disk_size_gb is None:
        raise InvalidParameter(_("Disksize is required for a non-customized disk offering."))
    if disk_size_gb is not None and disk_size_gb < 1:
        raise InvalidParameter(_("Please specify a disk size of at least 1 GB."))
    storage_type = (storage_type or DiskOffering.StorageType.SHARED).lower()
    if storage_type not in DiskOffering.StorageType.values:
        raise InvalidParameter(_("Invalid storage type %(type)s specified, valid types are: 'local' and 'shared'.")
                               % {"type": storage_type})
    offering = DiskOffering.objects.create(
        name=name, display_text=(display_text or "").strip() or name, disk_size=(disk_size_gb or 0) * GIB,
        is_customized=customized, storage_type=storage_type, display_offering=display_offering,
        storage_tags=tags_text(storage_tags, too_long=_("Tags are too long (at most 1024 characters).")),
        **_rates({"iops_read_rate": iops_read_rate, "iops_write_rate": iops_write_rate,
                  "bytes_read_rate": bytes_read_rate, "bytes_write_rate": bytes_write_rate}),
    )
    offering.domains.set(list(domains))
    _event(caller, offering, "DISK.OFFERING.CREATE", _("Created disk offering %(name)s") % {"name": offering.name})
    return offering


@transaction.atomic
def disk_offering_update(
    *, caller: User, offering: DiskOffering, name: str | None = None, display_text: str | None = None,
    storage_tags: str | Iterable[str] | None = None, domains: Iterable[Domain] | None = None,
    display_offering: bool | None = None, rates: dict[str, int | None] | None = None,
) -> DiskOffering:
    """CloudStack's updateDiskOffering: names, tags, domains, visibility and the I/O limits (`rates` maps
    iops_read_rate ... to a value, None or 0 lifting that limit; fields left out keep theirs). New limits
    apply to the disks attached or started from then on. The size never changes: disks were made with it."""
    authorize(caller, "diskoffering.update")
    offering = DiskOffering.objects.select_for_update().get(pk=offering.pk)
    if offering.removed is not None:
        raise InvalidParameter(_("Disk offering %(name)s has been deleted.") % {"name": offering.name})
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _name(name)
    if display_text is not None:
        changes["display_text"] = display_text.strip() or changes.get("name", offering.name)
    if storage_tags is not None:
        changes["storage_tags"] = tags_text(storage_tags, too_long=_("Tags are too long (at most 1024 characters)."))
    if display_offering is not None:
        changes["display_offering"] = display_offering
    if rates:
        unknown = set(rates) - set(RATE_FIELDS)
        if unknown:
            raise InvalidParameter(_("Unknown I/O limits: %(names)s.") % {"names": ", ".join(sorted(unknown))})
        changes.update(_rates(rates))
    for field, value in changes.items():
        setattr(offering, field, value)
    if changes:
        offering.save(update_fields=list(changes))
    if domains is not None:
        offering.domains.set(list(domains))
    _event(caller, offering, "DISK.OFFERING.EDIT", _("Updated disk offering %(name)s") % {"name": offering.name})
    return offering


@transaction.atomic
def disk_offering_delete(*, caller: User, offering: DiskOffering) -> None:
    """Marks the offering removed (CloudStack's deleteDiskOffering): gone from every list, kept by its disks."""
    authorize(caller, "diskoffering.delete")
    updated = DiskOffering.objects.filter(pk=offering.pk, removed__isnull=True).update(removed=timezone.now())
    if not updated:
        raise InvalidParameter(_("Disk offering %(name)s has already been deleted.") % {"name": offering.name})
    _event(caller, offering, "DISK.OFFERING.DELETE", _("Deleted disk offering %(name)s") % {"name": offering.name})


def disk_offering_resolve_size(*, offering: DiskOffering, size_gb: int | None) -> int:
    """The size in bytes of a disk made from this offering: its own, or for a custom-size offering the size the
    user chose (GiB), within the custom.diskoffering.size.min/max settings."""
    if not offering.is_customized:
        if size_gb is not None and size_gb * GIB != offering.disk_size:
            raise InvalidParameter(_("Disk offering %(name)s has a fixed size of %(size)s GiB; choose a custom-size "
                                     "offering to give a size.") % {"name": offering.name,
                                                                    "size": offering.disk_size // GIB})
        return offering.disk_size
    if size_gb is None:
        raise InvalidParameter(_("Disk offering %(name)s has a custom size: size is required.")
                               % {"name": offering.name})
    low, high = config_value("custom.diskoffering.size.min"), config_value("custom.diskoffering.size.max")
    if not low <= size_gb <= high:
        raise InvalidParameter(_("Disk size %(size)s GiB is out of range: it must be between %(min)s and %(max)s GiB "
                                 "(custom.diskoffering.size.min and custom.diskoffering.size.max).")
                               % {"size": size_gb, "min": low, "max": high})
    return size_gb * GIB
