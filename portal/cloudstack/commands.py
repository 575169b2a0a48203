"""The door's own commands: async job queries, API discovery (listApis, listCapabilities), and the
networking list commands clients call on every node listing."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.authz import can
from portal.cloudstack.registry import (
    API_LEVEL,
    Call,
    Command,
    Listing,
    ObjectType,
    Param,
    ParamType,
    all_commands,
    object_type_named,
    register,
    register_object,
)
from portal.cloudstack.render import list_body
from portal.cloudstack.responses import JOB_FIELDS, render_job
from portal.errors import NotFound
from portal.models import AsyncJob
from portal.selectors import job_get, job_list

# --- async jobs -----------------------------------------------------------------------------------------

register_object(ObjectType(
    model="asyncjob", name="asyncjobs", instance_type="AsyncJob",
    lookup=lambda caller, job_id: job_get(caller=caller, job_id=job_id),
    render=render_job, fields=JOB_FIELDS,
))


def query_async_job_result(call: Call) -> dict:
    """The job's fields at the top of the answer (not wrapped in an object), as CloudStack answers."""
    return render_job(call, job_get(caller=call.caller, job_id=call.get("jobid")))


register(Command(
    name="queryAsyncJobResult",
    description=gettext_lazy("Retrieves the current status of an asynchronous job."),
    action="job.view",
    handler=query_async_job_result,
    params=(Param("jobid", ParamType.UUID, required=True, description=gettext_lazy("The ID of the job.")),),
    response_object="asyncjobs",
))


def list_async_jobs(call: Call) -> QuerySet[AsyncJob]:
    return job_list(caller=call.caller)


register(Command(
    name="listAsyncJobs",
    description=gettext_lazy("Lists the asynchronous jobs of the caller's account (or, for admins, more)."),
    action="job.list",
    handler=list_async_jobs,
    response_object="asyncjobs",
    listing=Listing(object_name="asyncjobs", render=render_job, name_field=None, keyword_fields=("cmd",),
                    tenant=True),
))


# --- discovery ------------------------------------------------------------------------------------------

def _api_entry(command: Command) -> dict[str, Any]:
    object_type = object_type_named(command.response_object or "")
    return {
        "name": command.name,
        "description": str(command.description),
        "isasync": command.is_async,
        "since": command.since or None,
        "related": ",".join(command.related),
        "params": [
            {"name": p.name, "description": str(p.description), "type": p.type.value,
             "length": p.length if p.length is not None else 255, "required": p.required, "related": ""}
            for p in command.all_params
        ],
        "response": [{"name": name} for name in (object_type.fields if object_type else ())],
    }


def list_apis(call: Call) -> dict:
    """The commands this caller may call, with their parameters: what cloudmonkey learns commands from."""
    commands = [c for c in all_commands() if c.action is None or can(call.caller, c.action)]
    if call.get("name"):
        commands = [c for c in commands if c.key == call.get("name").lower()]
        if not commands:
            raise NotFound(_("API %(name)s does not exist or is not available.") % {"name": call.get("name")})
    entries = [_api_entry(c) for c in commands]
    return list_body("api", len(entries), entries)


register(Command(
    name="listApis",
    description=gettext_lazy("Lists the APIs available to the caller, with their parameters."),
    action=None,
    handler=list_apis,
    params=(Param("name", description=gettext_lazy("Show only the API with this name.")),),
    response_object="api",
))


def list_capabilities(call: Call) -> dict:
    return {"capability": {
        "cloudstackversion": API_LEVEL,
        "securitygroupsenabled": False,
        "userpublictemplateenabled": False,
        "supportELB": "false",
        "projectinviterequired": False,
        "allowusercreateprojects": False,
        "kvmsnapshotenabled": False,
        "allowuserviewdestroyedvm": True,
        "allowuserexpungerecovervm": False,
        "dynamicrolesenabled": False,
        "apilimitinterval": 0,
        "apilimitmax": 0,
    }}


register(Command(
    name="listCapabilities",
    description=gettext_lazy("Lists the capabilities of this cloud."),
    action=None,
    handler=list_capabilities,
    response_object="capability",
))


# --- networking lists -----------------------------------------------------------------------------------

def _no_rows(call: Call) -> list:
    """No public IP addresses or forwarding rules exist until networking is modelled, so these lists are
    truthfully empty. Clients such as libcloud call them on every node listing."""
    return []


def _as_is(call: Call, item: Any) -> dict:
    return dict(item)


for _name, _object, _text in (
    ("listPublicIpAddresses", "publicipaddress", gettext_lazy("Lists public IP addresses (none exist yet).")),
    ("listPortForwardingRules", "portforwardingrule", gettext_lazy("Lists port forwarding rules (none exist yet).")),
    ("listIpForwardingRules", "ipforwardingrule", gettext_lazy("Lists IP forwarding rules (none exist yet).")),
):
    register(Command(
        name=_name, description=_text, action=None, handler=_no_rows, response_object=_object,
        params=(Param("zoneid", ParamType.UUID, description=gettext_lazy("List in this zone.")),
                Param("virtualmachineid", ParamType.UUID, description=gettext_lazy("List for this VM."))),
        listing=Listing(object_name=_object, render=_as_is, tenant=True),
    ))
