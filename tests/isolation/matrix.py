"""The machinery of the tenant-isolation matrix: rows (one request through one door), actors, and the checks.

A row is one read or write of account A's things through the web UI, the REST API or the CloudStack API.
Each row runs as every outsider (b1: a user of account B in A's own domain; the south domain admin: an admin
of a sibling domain; an anonymous caller) and as a positive control (the north domain admin, or the root
admin for root-only features), who must see and change what the outsiders must not, so that the row can
fail in both directions. Rows whose control is the root admin (root-only features) also run as the north
domain admin, a non-root admin who may attempt nothing there. Every row also runs as b2, the grantee: a user of
the sibling domain who holds a console-only grant on A's VM (see `Row.grantee`).

What each outsider must get:
- anonymous: the UI sends them to the login page, REST answers 401, the CloudStack API 401;
- a caller whose role may not attempt the action at all (portal.authz.ACTIONS): UI 403, REST 403,
  CloudStack 401 ("does not exist or is not available for user");
- a caller whose role may attempt it: A's objects do not exist for them: a list answers without them (or the
  door's not-found answer when the request named them), a detail or a write gets the door's not-found answer
  (UI 404, REST 404, CloudStack 431).
No answer may contain anything of A's the caller did not send itself (names, ids, keys, e-mail addresses),
and a write must leave every table as it was (see `snapshot`).

A row whose URL or command does not exist fails loudly: a missing route or command would otherwise look
exactly like a refusal.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cs.client import CloudStack
from django.apps import apps
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from portal import authz
from portal.cloudstack.registry import get_command
from portal.rest.errors import not_found_view
from tests.isolation.world import World

CS_ENDPOINT = "/client/api"
OUTSIDERS = ("b1", "south_admin", "anonymous")
CONTROL = "control"
GRANTEE = "b2"
ACTORS = (*OUTSIDERS, GRANTEE, CONTROL)

# Rows whose positive control is the root admin: features only root may use (LDAP, roles). They also run as
# the north admin, who is an administrator but not root.
ROOT_CONTROL = "root"
NON_ROOT_ADMIN = "north_admin"

# What the grantee b2 (console-only grant on A's VM) must get from a row:
OUTSIDER = "outsider"  # exactly what b1 gets: A's things do not exist (jobs, events, users, the account, ...)
SEES = "sees"  # the VM itself: the read works and shows it (`shows`), and nothing else of A's
MAY_SEE = "may_see"  # a query that may or may not include the shared VM: nothing else of A's, nothing changed
DENIED = "denied"  # the VM, but not this: refused (the VM exists for b2, so: forbidden or not found)
USES = "uses"  # what the grant is for (opening the console): it works, and writes nothing but console tickets

# The door's answer when the caller sees the object but may not do this to it (portal.errors.PermissionDenied).
# The UI's VM power actions answer a refusal by going back to the VM's page with an error message instead
# (compute.views.vm_action); `_refused_on_object` accepts that too, nothing changed being checked anyway.
REFUSED_ON_OBJECT = {"cs": (531, 531), "rest": (403, 531), "ui": (403, None)}
# What using a console grant may write.
GRANT_USE_WRITES = ("compute.consoletoken ",)
# The UI's sharing panel answers an empty 200 to a grantee (the VM page asks every viewer for it): nothing shown.
EMPTY_PANEL = (200, None)

Builder = Callable[[World], Any]


@dataclass(frozen=True)
class Row:
    door: str  # "ui" | "rest" | "cs"
    name: str
    # "list" | "detail" | "write", or "own": the caller's own identity (profile), which every signed-in
    # caller may read or change for themselves but which must show and change nothing of A's.
    kind: str
    method: str  # HTTP method (CloudStack rows: the command name)
    target: Builder  # World -> path (UI, REST) or the command's parameters (CloudStack)
    body: Builder | None = None  # World -> form (UI) or JSON body (REST)
    shows: Builder | None = None  # World -> what the control must find in a read's answer
    control: str | None = "north_admin"
    # Whether the control's write changes a table (False for recomputations that find nothing to fix).
    changes: bool = True
    # The door's not-found answer when A's object is named in a query or body rather than in the path
    # (REST: a 400 validation error on that field, errorcode 431).
    hidden: tuple[int, int | None] | None = None
    # The success status when it is not the door's usual one (a UI POST that answers a page, not a redirect).
    ok: int | None = None
    # What the grantee b2 must get (OUTSIDER, SEES, MAY_SEE or DENIED above).
    grantee: str = OUTSIDER
    # The grantee's refusal when the door answers it its own way (EMPTY_PANEL); the body must then be empty.
    grantee_answer: tuple[int, int | None] | None = None
    # World -> strings a successful answer must not contain: for the control (e.g. a domain admin's page never
    # offers an Admin-type role) and for the grantee (e.g. no stop button on the shared VM's page).
    hides: Builder | None = None
    grantee_hides: Builder | None = None

    def __str__(self) -> str:
        return f"{self.door}:{self.name}"


def cs(kind: str, command: str, params: Builder = lambda w: {}, *, name: str = "", **options: Any) -> Row:
    return Row("cs", name or command, kind, command, params, **options)


def rest(kind: str, method: str, path: Builder, body: Builder | None = None, *, name: str, **options: Any) -> Row:
    return Row("rest", name, kind, method, path, body, **options)


def ui(kind: str, method: str, path: Builder, form: Builder | None = None, *, name: str, **options: Any) -> Row:
    return Row("ui", name, kind, method, path, form, **options)


def matrix(rows: list[Row]) -> list[Any]:
    """pytest parameters: every row as every outsider, and as its control when it has one."""
    import pytest

    names = [str(row) for row in rows]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"duplicate rows {duplicates}"
    return [pytest.param(row, actor, id=f"{row}[{actor}]") for row in rows for actor in actors(row)]


def actors(row: Row) -> tuple[str, ...]:
    extra = (NON_ROOT_ADMIN,) if row.control == ROOT_CONTROL else ()
    return (*OUTSIDERS, GRANTEE, *extra, *((CONTROL,) if row.control is not None else ()))


# --- what an answer must not contain ------------------------------------------------------------------------

def root_only_secrets(world: World) -> dict[str, str]:
    """What no administrator below root may see: Admin-type roles and their rules, the LDAP servers."""
    return {
        "the Admin-type role's name": world.admin_role.name,
        "the Admin-type role's id": str(world.admin_role.uuid),
        "the Admin-type role's description": world.admin_role.description,
        "the Admin-type role's rule id": str(world.admin_rule.uuid),
        "the north LDAP server": world.ldap_configuration.hostname,
        "the north LDAP group": world.ldap_link.name,
    }


# What the grantee may see of A's with the shared VM: the VM, and the account and domain owning it (as
# CloudStack's VM response names them).
GRANTEE_SEES = ("A's VM name", "A's VM id", "account A's name")


def secrets_of_a(world: World, actor: str, row: Row | None = None) -> dict[str, str]:
    """Strings that would show an outsider something of account A (or of domains beyond their reach)."""
    if actor == NON_ROOT_ADMIN:
        return root_only_secrets(world)
    found = {
        "account A's name": world.a.name,
        "account A's id": str(world.a.uuid),
        "a1's user name": world.a1.username,
        "a1's id": str(world.a1.uuid),
        "a1's e-mail": world.a1.email,
        "a2's user name": world.a2.username,
        "a2's id": str(world.a2.uuid),
        "a3's user name": world.a3.username,
        "a1's API key": world.keys["a1"][0],
        "a1's secret key": world.keys["a1"][1],
        "A's VM name": world.vm.name,
        "A's VM id": str(world.vm.uuid),
        "A's deploy job id": str(world.job.uuid),
        "A's private template's name": world.template.name,
        "A's private template's id": str(world.template.uuid),
        **root_only_secrets(world),
        "the subdomain north-child": world.child.name,
        "the subdomain's id": str(world.child.uuid),
        "the north admins' account": world.north_admin.account.name,
        "the north admin's user name": world.north_admin.username,
    }
    if actor == "south_admin":
        found["the domain north's id"] = str(world.north.uuid)
        found["the domain north's path"] = world.north.cloudstack_path
    if actor == GRANTEE and row is not None and row.grantee != OUTSIDER:
        for what in GRANTEE_SEES:
            del found[what]
    return found


def leaks(world: World, actor: str, sent: str, answer: str, row: Row | None = None) -> list[str]:
    """What the answer shows that the caller did not send itself (echoing an id back is no leak)."""
    return [f"{what} ({value!r})" for what, value in secrets_of_a(world, actor, row).items()
            if value and value not in sent and value in answer]


# --- nothing changed ------------------------------------------------------------------------------------------

SNAPSHOT_APPS = {"accounts", "compute", "storage", "portal", "infrastructure", "networking", "guardian",
                 "authtoken", "auth"}
# Audit trails and machinery, not state a refused write could corrupt.
NOT_SNAPSHOTTED = {"portal.event", "auth.permission"}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the project's state (new feature tables included automatically).

    Read with one plain SELECT per table rather than the ORM: it runs twice for every write of every actor,
    and that is most of the matrix's time otherwise."""
    tables = {}
    with connection.cursor() as cursor:
        for label, sql in _snapshot_queries():
            cursor.execute(sql)
            columns = [column[0] for column in cursor.description]
            tables[label] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return tables


@functools.cache
def _snapshot_queries() -> tuple[tuple[str, str], ...]:
    quote = connection.ops.quote_name
    queries = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label not in SNAPSHOT_APPS or meta.label_lower in NOT_SNAPSHOTTED or meta.proxy:
            continue
        queries.append((meta.label_lower,
                        f"SELECT * FROM {quote(meta.db_table)} ORDER BY {quote(meta.pk.column)}"))  # noqa: S608 (model names)
    return tuple(queries)


def changes(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    found = []
    for label, rows in before.items():
        if rows == after[label]:
            continue
        old = {row["id"] if "id" in row else json.dumps(row, default=str): row for row in rows}
        new = {row["id"] if "id" in row else json.dumps(row, default=str): row for row in after[label]}
        for key in sorted(old.keys() | new.keys(), key=str):
            if old.get(key) != new.get(key):
                was, now = old.get(key), new.get(key)
                if was and now:
                    fields = {f: (was[f], now[f]) for f in was if was[f] != now.get(f)}
                    found.append(f"{label} #{key} changed: {fields}")
                else:
                    found.append(f"{label} #{key} {'created' if now else 'deleted'}: {now or was}")
    return found


# --- sending -------------------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    text: str
    sent: str
    location: str = ""
    errorcode: int | None = None
    error_messages: tuple[str, ...] = ()


def caller(world: World, actor: str, row: Row) -> str | None:
    """The user name in World of whoever sends the row's request (None: anonymous)."""
    if actor == "anonymous":
        return None
    if actor == CONTROL:
        return row.control
    return actor


def connect(row: Row, world: World, who: str | None) -> Client:
    """A client for the row's door, already signed in (a UI login writes last_login: before any snapshot)."""
    if row.door == "rest":
        client = APIClient()
        if who is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[who]}")
        return client
    client = Client()
    if row.door == "ui" and who is not None:
        client.force_login(world.user(who))
    return client


def send(row: Row, world: World, who: str | None, client: Client) -> Answer:
    if row.door == "cs":
        return _send_cs(row, world, who, client)
    if row.door == "rest":
        return _send_rest(row, world, client)
    return _send_ui(row, world, client)


def _sign(params: dict[str, str], api_key: str, secret: str) -> dict[str, str]:
    """Sign exactly as the unmodified `cs` client does (its own signing code)."""
    signed = {**params, "apiKey": api_key}
    CloudStack(endpoint="http://testserver" + CS_ENDPOINT, key=api_key, secret=secret)._sign(signed)
    return signed


def _send_cs(row: Row, world: World, who: str | None, client: Client) -> Answer:
    params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in row.target(world).items()}
    wire = {"command": row.method, "response": "json", **params}
    if who is not None:
        wire = _sign(wire, *world.keys[who])
    response = client.get(CS_ENDPOINT, wire)
    text = response.content.decode()
    body = response.json()
    answer = body.get(f"{row.method.lower()}response") or body.get("errorresponse") or {}
    return Answer(response.status_code, text, json.dumps(params), errorcode=answer.get("errorcode"))


def _send_rest(row: Row, world: World, client: APIClient) -> Answer:
    path = row.target(world)
    body = row.body(world) if row.body else None
    response = getattr(client, row.method.lower())(path, body, format="json")
    errorcode = None
    if response.get("Content-Type", "").startswith("application/json") and response.content:
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            errorcode = data["error"].get("errorcode")
    return Answer(response.status_code, response.content.decode(), path + json.dumps(body), errorcode=errorcode)


def _send_ui(row: Row, world: World, client: Client) -> Answer:
    path = row.target(world)
    form = row.body(world) if row.body else {}
    response = getattr(client, row.method.lower())(path, form)
    errors = tuple(str(m) for m in get_messages(response.wsgi_request) if m.level >= messages.ERROR)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return Answer(response.status_code, content.decode(errors="replace"), path + json.dumps(form),
                  location=response.get("Location", ""), error_messages=errors)


# --- the checks ------------------------------------------------------------------------------------------------

def require_entry_point(row: Row, world: World) -> str:
    """The authz action the row's entry point declares; fails when the route or command does not exist."""
    if row.door == "cs":
        command = get_command(row.method)
        assert command is not None, f"{row}: no CloudStack command {row.method} (the row cannot pass by refusal)"
        return command.action
    path = row.target(world).split("?")[0]
    try:
        match = resolve(path)
    except Resolver404:
        raise AssertionError(f"{row}: no route for {path}") from None
    if row.door == "rest":
        assert match.func is not not_found_view, f"{row}: no REST route for {path}"
        view_class = getattr(match.func, "cls", None)
        actions = getattr(view_class, "authz_actions", None) or {}
        viewset_actions = getattr(match.func, "actions", None) or {}
        method = row.method.lower()
        assert not viewset_actions or method in viewset_actions, (
            f"{row}: {path} does not accept {row.method} (accepts {sorted(viewset_actions)})")
        key = viewset_actions.get(method, method)
        action = actions.get(key) or actions.get("*")
        assert action, f"{row}: {path} declares no authz action for {key}"
        return action
    action = getattr(match.func, "authz_action", None)
    assert action, f"{row}: the view of {path} declares no authz action"
    return action


def refusal(row: Row, action: str, who: str | None, world: World) -> str:
    """'anonymous', 'forbidden' (the role may not attempt the action) or 'hidden' (A's things do not exist)."""
    if who is None:
        return "anonymous"
    if action == authz.PUBLIC or authz.role_of(world.user(who)) in authz.ACTIONS[action]:
        return "hidden"
    return "forbidden"


EXPECTED = {
    # door -> refusal -> (HTTP status, errorcode or None)
    "cs": {"anonymous": (401, 401), "forbidden": (401, 401), "hidden": (431, 431)},
    "rest": {"anonymous": (401, 401), "forbidden": (403, 531), "hidden": (404, 431)},
    "ui": {"anonymous": (302, None), "forbidden": (403, None), "hidden": (404, None)},
}


def writes(row: Row) -> bool:
    return row.kind == "write" or (row.kind == "own" and row.method not in ("GET", "HEAD"))


def check(row: Row, actor: str, world: World) -> None:
    action = require_entry_point(row, world)
    who = caller(world, actor, row)
    client = connect(row, world, who)
    before = snapshot() if writes(row) else None
    answer = send(row, world, who, client)
    after = snapshot() if writes(row) else None
    if actor == CONTROL:
        _check_success(row, f"{row} as its control {row.control}", answer)
        if row.shows is not None:
            expected = row.shows(world)
            assert expected in answer.text, (
                f"{row} as its control: {expected!r} missing from the answer:\n{answer.text[:3000]}")
        if before is not None and row.changes:
            assert changes(before, after), f"{row} as its control: the write changed nothing, so it proves nothing"
        _check_hidden(row, "as its control", row.hides, world, answer)
        return

    found = leaks(world, actor, answer.sent, answer.text, row)
    assert not found, f"{row} as {actor}: the answer ({answer.status}) shows {found}:\n{answer.text[:2000]}"
    if row.kind == "own" and who is not None:
        # The caller's own identity (profile, own keys): it works, and touches nothing but the caller's user.
        _check_success(row, f"{row} as {actor}", answer)
        own = f"accounts.user #{world.user(who).pk} "
        changed = [c for c in changes(before, after) if not c.startswith(own)] if before is not None else []
        assert not changed, f"{row} as {actor} changed more than its own user:\n" + "\n".join(changed)
        return
    if actor == GRANTEE and row.grantee != OUTSIDER:
        _check_grantee(row, action, world, answer, before, after)
        return
    expected = refusal(row, action, who, world)
    status, errorcode = EXPECTED[row.door][expected]
    if expected == "hidden" and row.hidden is not None:
        status, errorcode = row.hidden
    if row.kind == "list" and expected == "hidden" and answer.status == 200:
        pass  # a list without A's things (checked above)
    elif actor == NON_ROOT_ADMIN and expected == "hidden" and _refused_on_object(row, answer):
        pass  # north's admin sees north itself, so a root-only change of it is refused rather than hidden
    else:
        assert answer.status == status, (
            f"{row} as {actor}: expected {expected} ({status}), got {answer.status}:\n{answer.text[:2000]}")
        if errorcode is not None and row.door != "ui":
            assert answer.errorcode == errorcode, f"{row} as {actor}: errorcode {answer.errorcode}"
        if expected == "anonymous" and row.door == "ui":
            assert answer.location.startswith("/login/"), f"{row}: anonymous sent to {answer.location!r}"
    if before is not None:
        changed = changes(before, after)
        assert not changed, f"{row} as {actor} (answered {answer.status}) changed:\n" + "\n".join(changed)


def _refused_on_object(row: Row, answer: Answer) -> bool:
    if row.door == "ui" and answer.status == 302:
        return bool(answer.error_messages) and not answer.location.startswith("/login/")
    return (answer.status, answer.errorcode if row.door != "ui" else None) == REFUSED_ON_OBJECT[row.door]


def _check_hidden(row: Row, what: str, hides: Builder | None, world: World, answer: Answer) -> None:
    for text in hides(world) if hides is not None else ():
        assert text not in answer.text, f"{row} {what}: the answer shows {text!r}:\n{answer.text[:2000]}"


def _check_grantee(row: Row, action: str, world: World, answer: Answer, before: dict | None,
                   after: dict | None) -> None:
    """b2 holds a console-only grant on A's VM: it sees that VM (SEES), and may do nothing else to it."""
    what = f"{row} as the grantee {GRANTEE}"
    if row.grantee == SEES:
        _check_success(row, what, answer)
        if row.shows is not None:
            expected = row.shows(world)
            assert expected in answer.text, f"{what}: {expected!r} missing from the answer:\n{answer.text[:3000]}"
        _check_hidden(row, "as the grantee", row.grantee_hides, world, answer)
    elif row.grantee == DENIED:
        got = (answer.status, answer.errorcode if row.door != "ui" else None)
        if row.grantee_answer is not None:
            assert got == row.grantee_answer and not answer.text.strip(), (
                f"{what}: expected {row.grantee_answer} with nothing in it, got {got}:\n{answer.text[:2000]}")
        else:
            hidden = EXPECTED[row.door][refusal(row, action, GRANTEE, world)]
            assert got == hidden or _refused_on_object(row, answer), (
                f"{what}: expected a refusal ({hidden} or {REFUSED_ON_OBJECT[row.door]}), got {got} "
                f"{answer.location} {answer.error_messages}:\n{answer.text[:2000]}")
    elif row.grantee == USES:
        _check_success(row, what, answer)
        changed = [c for c in changes(before, after) if not c.startswith(GRANT_USE_WRITES)] if before else []
        assert not changed, f"{what} changed more than console tickets:\n" + "\n".join(changed)
        return
    else:
        assert row.grantee == MAY_SEE, f"{row}: unknown grantee expectation {row.grantee!r}"
        _check_hidden(row, "as the grantee", row.grantee_hides, world, answer)
    if before is not None:
        changed = changes(before, after)
        assert not changed, f"{what} (answered {answer.status}) changed:\n" + "\n".join(changed)


def _check_success(row: Row, what: str, answer: Answer) -> None:
    if row.ok is not None:
        assert answer.status == row.ok, f"{what}: {answer.status}\n{answer.text[:2000]}"
        assert not answer.error_messages, f"{what}: {answer.error_messages}"
    elif row.door == "ui" and writes(row):
        assert answer.status == 302 and not answer.location.startswith("/login/"), (
            f"{what}: expected a redirect after success, got {answer.status} {answer.location}\n"
            f"{answer.text[:2000]}")
        assert not answer.error_messages, f"{what}: {answer.error_messages}"
    elif row.door == "rest" and writes(row):
        assert 200 <= answer.status < 300, f"{what}: {answer.status}\n{answer.text[:2000]}"
    else:
        assert answer.status == 200, f"{what}: {answer.status}\n{answer.text[:2000]}"
