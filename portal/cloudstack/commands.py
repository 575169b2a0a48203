"""The door's own commands: session login/logout, async job queries, API discovery (listApis,
listCapabilities), and the networking list commands clients call on every node listing."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import domain_for_login
from accounts.services import user_login
from accounts.services_security import user_logout
from portal.authz import can
from portal.cloudstack import sessions
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

# --- sessions -------------------------------------------------------------------------------------------

LOGIN_FIELDS = ("username", "userid", "domainid", "timeout", "account", "firstname", "lastname", "type",
                "registered", "sessionkey")


def login(call: Call) -> dict:
    """A password login that opens an API session (see sessions.py). As in CloudStack, any earlier session of
    this client ends first, so a failed login leaves none behind. Field types follow CloudStack's
    LoginCmdResponse: `type` and `registered` are strings there."""
    request = call.request
    sessions.session_close(request.COOKIES.get(sessions.SESSION_COOKIE))
    domain = domain_for_login(path=call.get("domain"), domain_id=call.get("domainid"))
    user = user_login(request=request, username=call.get("username"), password=call.get("password"),
                      domain=domain, domain_label=call.get("domainid") or call.get("domain") or "/")
    session = sessions.session_open(user)
    call.response_hooks.append(partial(sessions.set_cookies, request=request, session=session))
    return {
        "username": user.username,
        "userid": str(user.uuid),
        "domainid": str(domain.uuid),
        "timeout": sessions.timeout(),
        "account": user.account.name,
        "firstname": user.first_name,
        "lastname": user.last_name,
        "type": str(user.account.account_type),
        # CloudStack's self-registration flag; this portal has no self-registration.
        "registered": "false",
        "sessionkey": session.sessionkey,
    }


register(Command(
    name="login",
    description=gettext_lazy("Logs a user in with a password and opens a session: later calls send the "
                             "JSESSIONID and sessionkey cookies and the sessionkey parameter, until logout or "
                             "the session times out."),
    action=None,
    requires_auth=False,
    http_methods=frozenset({"POST"}),
    handler=login,
    params=(
        Param("username", required=True, description=gettext_lazy("The user name.")),
        Param("password", required=True, description=gettext_lazy("The password.")),
        Param("domain", max_length=1024,
              description=gettext_lazy("Path of the user's domain, e.g. /Sales/East (the root domain, /, "
                                       "when neither domain nor domainid is given).")),
        Param("domainid", ParamType.UUID,
              description=gettext_lazy("ID of the user's domain; takes precedence over domain.")),
    ),
    response_fields=LOGIN_FIELDS,
))


def logout(call: Call) -> dict:
    """Ends this client's session, if it has one, and expires its cookies; answers success either way, as
    CloudStack does (logging out twice is not an error)."""
    user = sessions.session_close(call.request.COOKIES.get(sessions.SESSION_COOKIE))
    if user is not None:
        user_logout(caller=user, request=call.request)
    call.response_hooks.append(partial(sessions.clear_cookies, request=call.request))
    return {"description": "success"}


register(Command(
    name="logout",
    description=gettext_lazy("Logs the user out: ends the session opened by login."),
    action=None,
    requires_auth=False,
    handler=logout,
    response_fields=("description",),
))


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
    fields = command.response_fields
    if fields is None:
        object_type = object_type_named(command.response_object or "")
        fields = object_type.fields if object_type else ()
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
        "response": [{"name": name} for name in fields],
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
    action="api.discover",
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
    action="api.discover",
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
        name=_name, description=_text, action="network.list", handler=_no_rows, response_object=_object,
        params=(Param("zoneid", ParamType.UUID, description=gettext_lazy("List in this zone.")),
                Param("virtualmachineid", ParamType.UUID, description=gettext_lazy("List for this VM."))),
        listing=Listing(object_name=_object, render=_as_is, tenant=True),
    ))


# The cloud's settings are declared in their own module.
import portal.cloudstack_tags  # noqa: E402, F401  (createTags, deleteTags, listTags)
from portal import cloudstack_configuration  # noqa: E402, F401
