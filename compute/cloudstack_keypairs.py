"""CloudStack API declarations of SSH key pairs: createSSHKeyPair, registerSSHKeyPair, listSSHKeyPairs and
deleteSSHKeyPair (CloudStack 4.19 names, parameters and response fields). Parsing and rendering only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.cloudstack import owner_params
from accounts.models import Account
from compute import services_keypairs
from compute.models import SSHKeyPair
from compute.selectors_keypairs import keypair_get_by_name, keypair_list
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from portal.cloudstack.responses import owner_fields
from portal.errors import InvalidParameter

T = ParamType
KEYPAIR_FIELDS = ("id", "name", "fingerprint", "account", "domainid", "domain")
CREATED_KEYPAIR_FIELDS = (*KEYPAIR_FIELDS, "privatekey")
SUCCESS_FIELDS = ("success", "displaytext")


def owner_account(call: Call) -> Account | None:
    """`account` + `domainid`: act for another account (admins). These objects belong to an account, so a
    domain alone names no owner."""
    account, domain = owner_params(call)
    if account is None and domain is not None:
        raise InvalidParameter(_("domainid must be used together with account."))
    return account


def render_keypair(call: Call, pair: SSHKeyPair) -> dict[str, Any]:
    return {"id": str(pair.uuid), "name": pair.name, "fingerprint": pair.fingerprint, **owner_fields(pair)}


OWNER_PARAMS = (
    Param("account", description=gettext_lazy("The account of the key pair (with domainid; administrators).")),
    Param("domainid", T.UUID, description=gettext_lazy("The domain of that account.")),
)
NAME = Param("name", required=True, description=gettext_lazy("Name of the key pair."))


def create_ssh_key_pair(call: Call) -> dict[str, Any]:
    pair, private_key = services_keypairs.keypair_create(caller=call.caller, name=call.get("name"),
                                                         account=owner_account(call))
    return {"keypair": {**render_keypair(call, pair), "privatekey": private_key}}


register(Command(
    name="createSSHKeyPair",
    description=gettext_lazy("Creates an RSA key pair: the private key is returned in this answer only and "
                             "never stored."),
    action="keypair.create",
    handler=create_ssh_key_pair,
    response_object="keypair",
    response_fields=CREATED_KEYPAIR_FIELDS,
    params=(NAME, *OWNER_PARAMS),
))


def register_ssh_key_pair(call: Call) -> dict[str, Any]:
    pair = services_keypairs.keypair_register(caller=call.caller, name=call.get("name"),
                                              public_key=call.get("publickey"), account=owner_account(call))
    return {"keypair": render_keypair(call, pair)}


register(Command(
    name="registerSSHKeyPair",
    description=gettext_lazy("Registers an existing OpenSSH public key as a key pair."),
    action="keypair.create",
    handler=register_ssh_key_pair,
    response_object="keypair",
    response_fields=KEYPAIR_FIELDS,
    params=(
        NAME,
        Param("publickey", required=True, max_length=8192, description=gettext_lazy(
            "The public key in OpenSSH format (\"ssh-rsa AAAA... comment\"; send it with POST).")),
        *OWNER_PARAMS,
    ),
))


def list_ssh_key_pairs(call: Call) -> QuerySet[SSHKeyPair]:
    pairs = keypair_list(caller=call.caller)
    if call.get("fingerprint"):
        pairs = pairs.filter(fingerprint__iexact=call.get("fingerprint"))
    return pairs


register(Command(
    name="listSSHKeyPairs",
    description=gettext_lazy("Lists SSH key pairs."),
    action="keypair.list",
    handler=list_ssh_key_pairs,
    response_object="sshkeypair",
    response_fields=KEYPAIR_FIELDS,
    params=(Param("fingerprint", description=gettext_lazy("List the key pair with this fingerprint.")),),
    listing=Listing(object_name="sshkeypair", render=render_keypair, keyword_fields=("name",), tenant=True),
))


def delete_ssh_key_pair(call: Call) -> dict[str, Any]:
    pair = keypair_get_by_name(caller=call.caller, account=owner_account(call), name=call.get("name"))
    services_keypairs.keypair_delete(caller=call.caller, keypair=pair)
    return {"success": True}


register(Command(
    name="deleteSSHKeyPair",
    description=gettext_lazy("Deletes a key pair by name. VMs keep the public keys they were given."),
    action="keypair.delete",
    handler=delete_ssh_key_pair,
    response_fields=SUCCESS_FIELDS,
    params=(NAME, *OWNER_PARAMS),
))
