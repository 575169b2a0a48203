"""Request signatures: every canonical form real clients send is accepted, anything else is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest
from django.test import override_settings
from libcloud.common.cloudstack import CloudStackConnection

from portal.cloudstack import signing
from tests.cloudstack.conftest import ENDPOINT, cs_sign

pytestmark = pytest.mark.django_db

# Characters on which the clients' encoders disagree, plus a map parameter's name.
TRICKY = "a b*c~d[e]/f:g+h&i=j%k é"
UNVERIFIED = "unable to verify user credentials and/or request signature"


def _hmac(text: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


def _java_urlencode(value: str) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8"), written out byte by byte."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in ".-*_"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def sign_java(params: dict[str, str], secret: str) -> str:
    """As CloudStack's own ApiServer computes it: names as sent, sorted case-sensitively."""
    text = "&".join(f"{k}={_java_urlencode(v).replace('+', '%20')}" for k, v in sorted(params.items()))
    return _hmac(text.lower(), secret)


def sign_cloudmonkey(params: dict[str, str], secret: str) -> str:
    """cloudmonkey 5.x's sign_request, in Python 3."""
    pairs = sorted(params.items(), key=lambda kv: kv[0].lower())
    text = "&".join(
        f"{k.lower()}={quote_plus(v, safe='*').lower().replace('+', '%20').replace('%3A', ':')}" for k, v in pairs)
    return _hmac(text, secret)


def sign_marvin_py2(params: dict[str, str], secret: str) -> str:
    """Marvin's sign() under Python 2, whose quote_plus also escaped `~`."""
    pairs = sorted(params.items(), key=lambda kv: kv[0].lower())
    text = "&".join(f"{k.lower()}={quote_plus(v).replace('~', '%7E').lower().replace('+', '%20')}" for k, v in pairs)
    return _hmac(text, secret)


def sign_libcloud(params: dict[str, str], api_key: str, secret: str) -> str:
    connection = CloudStackConnection(api_key, secret)
    return connection._make_signature(dict(params)).decode()


def _base(api_key: str, **extra: str) -> dict[str, str]:
    # isRecursive/isolated sort differently case-sensitively ("R" < "o") and lower-cased ("r" > "o").
    return {"command": "listZones", "response": "json", "apiKey": api_key, "keyword": TRICKY,
            "tags[0].key": "x~y", "zoneName": "Z*", "isRecursive": "false", "isolated": "x", **extra}


@pytest.mark.parametrize("variant", ["cs", "java", "libcloud", "cloudmonkey", "marvin-py2"])
def test_each_clients_canonical_form_is_accepted(client, keys, variant):
    api_key, secret = keys["alice"]
    params = _base(api_key)
    if variant == "cs":
        signed = cs_sign(params, api_key, secret)
    else:
        signer = {"java": sign_java, "cloudmonkey": sign_cloudmonkey, "marvin-py2": sign_marvin_py2}.get(variant)
        signature = signer(params, secret) if signer else sign_libcloud(params, api_key, secret)
        signed = {**params, "signature": signature}

    response = client.get(ENDPOINT, signed)

    assert response.status_code == 200, response.content
    assert response.json() == {"listzonesresponse": {}}  # the keyword matches no zone


def test_post_form_body_merged_with_query_string_is_accepted(client, keys):
    api_key, secret = keys["alice"]
    signed = cs_sign(_base(api_key), api_key, secret)
    query = {k: signed.pop(k) for k in ("command", "response")}

    response = client.post(f"{ENDPOINT}?command={query['command']}&response={query['response']}", signed)

    assert response.status_code == 200, response.content


def _refused(response) -> None:
    assert response.status_code == 401
    body = response.json()["listzonesresponse"]
    assert body["errorcode"] == 401
    assert body["errortext"] == UNVERIFIED


def test_tampered_parameter_is_refused(client, keys):
    api_key, secret = keys["alice"]
    signed = cs_sign(_base(api_key), api_key, secret)
    signed["keyword"] = "something else"
    _refused(client.get(ENDPOINT, signed))


def test_added_parameter_is_refused(client, keys):
    api_key, secret = keys["alice"]
    signed = cs_sign(_base(api_key), api_key, secret)
    signed["listall"] = "true"
    _refused(client.get(ENDPOINT, signed))


def test_wrong_secret_is_refused(client, keys):
    api_key, _ = keys["alice"]
    _, bob_secret = keys["bob"]
    _refused(client.get(ENDPOINT, cs_sign(_base(api_key), api_key, bob_secret)))


def test_unknown_api_key_and_missing_signature_are_refused(client, keys):
    api_key, secret = keys["alice"]
    _refused(client.get(ENDPOINT, cs_sign(_base("no-such-key"), "no-such-key", secret)))
    _refused(client.get(ENDPOINT, _base(api_key)))
    _refused(client.get(ENDPOINT, {"command": "listZones", "response": "json"}))


def _expiring(api_key: str, when: datetime, fmt: str = "%Y-%m-%dT%H:%M:%S%z") -> dict[str, str]:
    return _base(api_key, signatureVersion="3", expires=when.strftime(fmt))


def test_signature_version_3_within_its_validity_is_accepted(client, keys):
    api_key, secret = keys["alice"]
    soon = datetime.now(UTC) + timedelta(minutes=10)
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+00:00"):
        response = client.get(ENDPOINT, cs_sign(_expiring(api_key, soon, fmt), api_key, secret))
        assert response.status_code == 200, (fmt, response.content)


def test_expired_signature_version_3_request_is_refused(client, keys):
    api_key, secret = keys["alice"]
    past = datetime.now(UTC) - timedelta(seconds=5)
    _refused(client.get(ENDPOINT, cs_sign(_expiring(api_key, past), api_key, secret)))


@override_settings(CIRROSTACK_API_EXPIRES_MAX_AHEAD=3600)
def test_signature_version_3_too_far_ahead_is_refused(client, keys):
    api_key, secret = keys["alice"]
    later = datetime.now(UTC) + timedelta(hours=2)
    _refused(client.get(ENDPOINT, cs_sign(_expiring(api_key, later), api_key, secret)))


def test_signature_version_3_without_expires_is_refused(client, keys):
    api_key, secret = keys["alice"]
    _refused(client.get(ENDPOINT, cs_sign(_base(api_key, signatureVersion="3"), api_key, secret)))


def test_expires_without_offset_is_refused():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert signing.expires_ok("2026-11-26T12:05:00+0000", required=True, max_ahead_seconds=600, now=now)
    assert not signing.expires_ok("2026-11-26T12:05:00", required=True, max_ahead_seconds=600, now=now)
    assert not signing.expires_ok("tomorrow", required=True, max_ahead_seconds=600, now=now)
    assert signing.expires_ok(None, required=False, max_ahead_seconds=600, now=now)


def test_disabled_user_and_account_are_refused_with_531(client, keys, cloud):
    api_key, secret = keys["alice"]
    cloud.alice.is_active = False
    cloud.alice.save()

    response = client.get(ENDPOINT, cs_sign(_base(api_key), api_key, secret))
    assert response.status_code == 531
    assert response.json()["listzonesresponse"]["errorcode"] == 531

    bob_key, bob_secret = keys["bob"]
    cloud.bob.account.state = "disabled"
    cloud.bob.account.save()
    response = client.get(ENDPOINT, cs_sign(_base(bob_key), bob_key, bob_secret))
    assert response.status_code == 531


def test_unknown_command_is_refused_with_401_even_when_signed(client, keys):
    api_key, secret = keys["alice"]
    response = client.get(ENDPOINT, cs_sign({"command": "fooBar", "response": "json"}, api_key, secret))
    assert response.status_code == 401
    assert response.json() == {"errorresponse": {"uuidList": [], "errorcode": 401, "cserrorcode": 4365,
                                                 "errortext": UNVERIFIED}}


def test_command_outside_the_callers_role_is_refused_with_401(client, keys, cloud):
    """Commands are declared with an authz action; a role without it does not see the command at all."""
    from portal.cloudstack.registry import Command, _commands, register

    command = register(Command(name="listHostsForTest", description="test", action="host.list",
                               handler=lambda call: {}))
    try:
        api_key, secret = keys["alice"]
        params = {"command": "listHostsForTest", "response": "json"}
        assert client.get(ENDPOINT, cs_sign(params, api_key, secret)).status_code == 401
        admin_key, admin_secret = keys["admin"]
        assert client.get(ENDPOINT, cs_sign(params, admin_key, admin_secret)).status_code == 200
    finally:
        _commands.pop(command.key)
