"""CloudStack API declarations of disk offerings: listDiskOfferings, createDiskOffering, updateDiskOffering,
deleteDiskOffering. Imported at the end of storage.cloudstack.

The diskoffering object carries CloudStack's DiskOfferingResponse names, including its camel-case I/O limit
fields (diskIopsReadRate, diskBytesWriteRate, ...); `disksize` is in GB, 0 for a custom-size offering.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.cloudstack import domain_list_param
from accounts.selectors import domain_get
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from storage import services_disk_offerings
from storage.models import DiskOffering
from storage.selectors_disk_offerings import disk_offering_get, disk_offering_list, offering_domains_text

T = ParamType
GIB = 2**30

DISK_OFFERING_FIELDS = (
    "id", "name", "displaytext", "disksize", "created", "iscustomized", "tags", "storagetype", "provisioningtype",
    "diskIopsReadRate", "diskIopsWriteRate", "diskBytesReadRate", "diskBytesWriteRate", "domainid", "domain",
    "displayoffering",
)


def render_disk_offering(call: Call, offering: DiskOffering) -> dict[str, Any]:
    domain_ids, domain_names = offering_domains_text(offering)
    return {
        "id": str(offering.uuid),
        "name": offering.name,
        "displaytext": offering.display_text or offering.name,
        "disksize": offering.disk_size // GIB,
        "created": offering.created,
        "iscustomized": offering.is_customized,
        "tags": offering.storage_tags or None,
        "storagetype": offering.storage_type,
        "provisioningtype": "thin",  # qcow2 volumes grow as they are written
        "diskIopsReadRate": offering.iops_read_rate,
        "diskIopsWriteRate": offering.iops_write_rate,
        "diskBytesReadRate": offering.bytes_read_rate,
        "diskBytesWriteRate": offering.bytes_write_rate,
        "domainid": domain_ids,
        "domain": domain_names,
        "displayoffering": offering.display_offering,
    }


register_object(ObjectType(
    model="diskoffering", name="diskoffering", instance_type="DiskOffering",
    lookup=lambda caller, offering_id: disk_offering_get(caller=caller, offering_id=offering_id),
    render=render_disk_offering, fields=DISK_OFFERING_FIELDS,
))

OFFERING_ID = Param("id", T.UUID, required=True, description=_("The ID of the disk offering."))
RATE_PARAMS = (
    ("iopsreadrate", "iops_read_rate", _("I/O requests read rate of the disk offering (per second).")),
    ("iopswriterate", "iops_write_rate", _("I/O requests write rate of the disk offering (per second).")),
    ("bytesreadrate", "bytes_read_rate", _("Bytes read rate of the disk offering (per second).")),
    ("byteswriterate", "bytes_write_rate", _("Bytes write rate of the disk offering (per second).")),
)


def list_disk_offerings(call: Call) -> QuerySet[DiskOffering]:
    offerings = disk_offering_list(caller=call.caller).prefetch_related("domains")
    if call.get("domainid"):
        offerings = offerings.filter(domains=domain_get(caller=call.caller, domain_id=call.get("domainid")))
    if call.get("storagetype"):
        offerings = offerings.filter(storage_type=call.get("storagetype"))
    return offerings


register(Command(
    name="listDiskOfferings",
    description=_("Lists the disk offerings the caller may use."),
    action="diskoffering.list",
    handler=list_disk_offerings,
    response_object="diskoffering",
    params=(
        Param("domainid", T.UUID, description=_("Only the offerings limited to this domain.")),
        Param("storagetype", choices=("local", "shared"), description=_("Only offerings of this storage type.")),
    ),
    listing=Listing(object_name="diskoffering", render=render_disk_offering,
                    keyword_fields=("name", "display_text")),
))


def create_disk_offering(call: Call) -> dict[str, Any]:
    domains = [domain_get(caller=call.caller, domain_id=item) for item in call.get("domainid") or []]
    offering = services_disk_offerings.disk_offering_create(
        caller=call.caller, name=call.get("name"), display_text=call.get("displaytext") or "",
        disk_size_gb=call.get("disksize"), customized=call.get("customized"), storage_tags=call.get("tags") or "",
        storage_type=call.get("storagetype"), domains=domains, display_offering=call.get("displayoffering"),
        **{field: call.get(param) for param, field, _text in RATE_PARAMS},
    )
    return {"diskoffering": render_disk_offering(call, offering)}


register(Command(
    name="createDiskOffering",
    description=_("Creates a disk offering."),
    action="diskoffering.create",
    handler=create_disk_offering,
    response_object="diskoffering",
    params=(
        Param("name", required=True, description=_("Name of the disk offering.")),
        Param("displaytext", max_length=4096, description=_("An alternate display text of the disk offering "
                                                            "(default: its name).")),
        Param("disksize", T.LONG, description=_("Size of the disk offering in GB (1GB = 1,073,741,824 bytes).")),
        Param("customized", T.BOOLEAN, description=_(
            "Whether disk offering size is custom or not; without it, leaving out disksize makes it custom.")),
        Param("tags", max_length=1024, description=_("Storage tags for this disk offering.")),
        Param("storagetype", choices=("local", "shared"), description=_(
            "The storage type of the disk offering: local or shared (default).")),
        Param("domainid", T.LIST, item_type=T.UUID, max_length=4096, description=_(
            "The IDs of the containing domains, comma-separated; none for a public offering.")),
        Param("zoneid", T.LIST, item_type=T.UUID, max_length=4096, description=_(
            "Accepted for compatibility; offerings are offered in every zone.")),
        Param("displayoffering", T.BOOLEAN, default=True, description=_(
            "An optional field, whether to display the offering to the end user or not.")),
        *(Param(param, T.LONG, description=text) for param, _field, text in RATE_PARAMS),
    ),
))


def update_disk_offering(call: Call) -> dict[str, Any]:
    offering = disk_offering_get(caller=call.caller, offering_id=call.get("id"))
    rates = {field: call.get(param) for param, field, _text in RATE_PARAMS if call.get(param) is not None}
    offering = services_disk_offerings.disk_offering_update(
        caller=call.caller, offering=offering, name=call.get("name"), display_text=call.get("displaytext"),
        storage_tags=call.get("tags"), domains=domain_list_param(call), display_offering=call.get("displayoffering"),
        rates=rates)
    return {"diskoffering": render_disk_offering(call, offering)}


register(Command(
    name="updateDiskOffering",
    description=_("Updates a disk offering: names, tags, domains, visibility and I/O limits (0 lifts a limit)."),
    action="diskoffering.update",
    handler=update_disk_offering,
    response_object="diskoffering",
    params=(
        OFFERING_ID,
        Param("name", description=_("Updates name of the disk offering with this value.")),
        Param("displaytext", max_length=4096, description=_("Updates alternate display text of the disk offering.")),
        Param("tags", max_length=1024, description=_("Comma-separated storage tags.")),
        Param("domainid", max_length=4096, description=_(
            "The IDs of the containing domains, comma-separated, or \"public\" for every domain.")),
        Param("displayoffering", T.BOOLEAN, description=_("Whether to display the offering to the end user.")),
        *(Param(param, T.LONG, description=text) for param, _field, text in RATE_PARAMS),
    ),
))


def delete_disk_offering(call: Call) -> dict[str, Any]:
    offering = disk_offering_get(caller=call.caller, offering_id=call.get("id"))
    services_disk_offerings.disk_offering_delete(caller=call.caller, offering=offering)
    return {"success": True}


register(Command(
    name="deleteDiskOffering",
    description=_("Deletes a disk offering: it is no longer listed or offered; disks made from it keep it."),
    action="diskoffering.delete",
    handler=delete_disk_offering,
    params=(OFFERING_ID,),
))
