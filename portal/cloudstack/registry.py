"""The CloudStack API's commands, declared as data.

Each app declares its commands in its own `cloudstack.py` (compute/cloudstack.py, ...), found by
`autodiscover`. A declaration says everything the door needs without reading the handler: the name, whether
it is asynchronous, its parameters with types and limits, the response object, the authz action a caller's
role must hold, and for list commands how the generic list parameters apply. The same data answers
listApis, so what clients learn about a command is exactly what the server enforces.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Model
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _

from portal.authz import ACTIONS

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from accounts.models import User

# The CloudStack API level this door speaks (listCapabilities' cloudstackversion, XML's cloud-stack-version).
API_LEVEL = "4.19.0"

# CloudStack's default length limit for string parameters.
DEFAULT_STRING_LENGTH = 255


class ParamType(enum.Enum):
    """CloudStack's parameter types, with the names listApis reports."""

    STRING = "string"
    UUID = "uuid"
    INTEGER = "integer"
    LONG = "long"
    SHORT = "short"
    BOOLEAN = "boolean"
    DATE = "date"
    LIST = "list"
    MAP = "map"


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType = ParamType.STRING
    required: bool = False
    description: str | Promise = ""
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None
    # For LIST: the type of each comma-separated item.
    item_type: ParamType = ParamType.STRING

    def __post_init__(self) -> None:
        if self.name != self.name.lower():
            raise ValueError(f"parameter names are lower-case on the wire: {self.name!r}")

    @property
    def length(self) -> int | None:
        """The length limit listApis reports and parsing enforces."""
        if self.max_length is not None:
            return self.max_length
        return DEFAULT_STRING_LENGTH if self.type is ParamType.STRING else None


@dataclass
class Call:
    """One API call as the handler sees it: who calls, with which already-validated parameters."""

    request: HttpRequest
    command: Command
    caller: User | None
    params: dict[str, Any]
    # Functions applied to the HTTP response before it is sent (a login sets its cookies this way).
    response_hooks: list[Callable[[HttpResponse], None]] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


Renderer = Callable[[Call, Any], dict]


@dataclass(frozen=True)
class Listing:
    """How a list command's results are narrowed, paged and rendered by the framework.

    The handler returns what its selector returns (a QuerySet scoped to the caller, or a plain sequence);
    the framework then applies `id`, `name`, `keyword`, the tenancy parameters (listall, account,
    domainid, isrecursive) and paging, and renders each item with `render`.
    """

    object_name: str
    render: Renderer
    # Model field matched by the `id` parameter, and by `name`; None leaves the parameter out.
    id_field: str | None = "uuid"
    name_field: str | None = "name"
    # CloudStack matches some names as substrings (listVirtualMachines), most exactly.
    name_substring: bool = False
    keyword_fields: tuple[str, ...] = ("name",)
    # Tenant-owned rows: adds listall/account/domainid/isrecursive, applied through these two fields (users
    # reach their domain through their account: "account__domain").
    tenant: bool = False
    account_field: str = "account"
    domain_field: str = "domain"
    # Add `jobid`/`jobstatus` to listed objects that have a pending job (CloudStack does for VMs).
    pending_jobs: bool = False
    # Turns the filtered queryset into the listed items (e.g. one template entry per zone).
    expand: Callable[[Call, Any], Sequence[Any]] | None = None
    # The CloudStack resource type of taggable rows (e.g. "UserVm"): adds the `tags[0].key=...&tags[0].value=`
    # filter and fills each listed object's "tags" with one query per page (portal.selectors_tags).
    tags: str | None = None
    # Adds fields to a rendered page at once (e.g. each VM's newest metrics in one query for the page):
    # called with the call, the page's items and their rendered dicts, which it updates in place.
    extend_page: Callable[[Call, list[Any], list[dict]], None] | None = None


@dataclass(frozen=True)
class ObjectType:
    """A response object that jobs can produce: how to find one by uuid for a caller and render it.

    `model` is the model name AsyncJob.result["object"] and AsyncJob.instance_type carry.
    """

    model: str
    name: str
    instance_type: str
    lookup: Callable[[User, str], Model]
    render: Renderer
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    name: str
    handler: Callable[[Call], Any]
    description: str | Promise
    # The portal.authz action the caller's role must hold to see and call the command; None only for the
    # commands that authenticate the caller themselves (requires_auth=False: login, logout).
    action: str | None
    params: tuple[Param, ...] = ()
    is_async: bool = False
    # Async commands that create an object answer with its id as well as the job id.
    creates: bool = False
    # The object in the answer (for listApis' response list and async job results).
    response_object: str | None = None
    # The answer's fields for listApis when they are not those of a registered object type (login, userkeys).
    response_fields: tuple[str, ...] | None = None
    listing: Listing | None = None
    # Commands that authenticate the caller themselves (login) set this to False.
    requires_auth: bool = True
    http_methods: frozenset[str] = frozenset({"GET", "POST"})
    # Most answers are "<command lower-cased>response"; a few CloudStack commands differ.
    response_name: str | None = None
    since: str = ""
    related: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"{self.name}: unknown authz action {self.action!r}")
        if self.action is None and self.requires_auth:
            raise ValueError(f"{self.name}: a command callers authenticate for must name its authz action")
        names = [p.name for p in self.all_params]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"{self.name}: duplicate parameters {sorted(duplicates)}")
        if self.creates and not self.is_async:
            raise ValueError(f"{self.name}: only async commands answer with a created id")

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def answer_name(self) -> str:
        return self.response_name or f"{self.key}response"

    @property
    def all_params(self) -> tuple[Param, ...]:
        """Declared parameters plus the generic list parameters this command's listing accepts."""
        if self.listing is None:
            return self.params
        declared = {p.name for p in self.params}
        return self.params + tuple(p for p in list_params(self.listing) if p.name not in declared)


def list_params(listing: Listing) -> tuple[Param, ...]:
    params = [
        Param("keyword", description=_("List by keyword.")),
        Param("page", ParamType.INTEGER, description=_("The page to list (with pagesize).")),
        Param("pagesize", ParamType.INTEGER, description=_("Items per page (with page); -1 lists all.")),
    ]
    if listing.id_field:
        params.append(Param("id", ParamType.UUID, description=_("List the object with this ID.")))
    if listing.name_field:
        params.append(Param("name", description=_("List by name.")))
    if listing.tenant:
        params += [
            Param("listall", ParamType.BOOLEAN, default=False,
                  description=_("If true, list everything the caller may see; otherwise only the "
                                "caller's own account's resources.")),
            Param("account", description=_("List resources of this account (with domainid).")),
            Param("domainid", ParamType.UUID, description=_("List resources of this domain.")),
            Param("isrecursive", ParamType.BOOLEAN, default=False,
                  description=_("With domainid, include the domain's subdomains.")),
        ]
    if listing.tags:
        params.append(Param("tags", ParamType.MAP,
                            description=_("List resources by tags: tags[0].key=k&tags[0].value=v.")))
    return tuple(params)


_commands: dict[str, Command] = {}
_objects: dict[str, ObjectType] = {}
_discovered = False
_discover_lock = threading.Lock()


def register(command: Command) -> Command:
    if command.key in _commands:
        raise ValueError(f"command {command.name} is declared twice")
    _commands[command.key] = command
    return command


def register_object(object_type: ObjectType) -> ObjectType:
    if object_type.model in _objects:
        raise ValueError(f"response object for {object_type.model} is declared twice")
    _objects[object_type.model] = object_type
    return object_type


def autodiscover() -> None:
    """Import every app's `cloudstack` module once, so their declarations are registered."""
    global _discovered
    if _discovered:
        return
    with _discover_lock:
        if _discovered:
            return
        import portal.cloudstack.commands  # noqa: F401  (the door's own commands)

        autodiscover_modules("cloudstack")
        _discovered = True


def get_command(name: str) -> Command | None:
    autodiscover()
    return _commands.get(name.lower())


def all_commands() -> list[Command]:
    autodiscover()
    return sorted(_commands.values(), key=lambda c: c.name)


def get_object_type(model: str) -> ObjectType | None:
    autodiscover()
    return _objects.get(model)


def object_type_named(name: str) -> ObjectType | None:
    """The object type whose response name is `name` ("virtualmachine", "zone", ...)."""
    autodiscover()
    return next((t for t in _objects.values() if t.name == name), None)
