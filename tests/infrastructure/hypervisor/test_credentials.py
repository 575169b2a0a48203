"""Remote hosts' credentials: the per-URI registry, libvirt's auth callback and SSH login names.

The callback is called here the way libvirt calls it (a list of ``[type, prompt, challenge, default,
result]`` requests, answered in place); connections go through the real ``libvirt.openAuth`` on the
test driver.
"""

from __future__ import annotations

import pytest

from infrastructure import hypervisor as hv
from infrastructure.hypervisor import connection
from infrastructure.hypervisor.connection import Credentials, answer_auth, uri_with_login
from tests.support.sasl_libvirtd import SaslLibvirtd

URI = "test:///default"
# libvirt's ABI values (virConnectCredentialType, virErrorNumber): only the driver package imports libvirt.
VIR_CRED_USERNAME, VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE, VIR_CRED_ECHOPROMPT, VIR_CRED_NOECHOPROMPT = 1, 2, 5, 6, 7
VIR_ERR_AUTH_FAILED = 45


@pytest.fixture(autouse=True)
def _clean_registry():
    yield
    for uri in (URI, "qemu+tls://kvm1.example/system"):
        hv.set_credentials(uri, "", "")


def request(kind: int, default: str | None = None) -> list:
    return [kind, "prompt", "", default, None]


def test_sasl_callback_answers_name_and_password():
    asked = [request(VIR_CRED_AUTHNAME, default="local-user"), request(VIR_CRED_PASSPHRASE)]
    assert answer_auth(asked, Credentials("admin", "s3cret")) == 0
    assert [item[4] for item in asked] == ["admin", "s3cret"]


def test_libssh_callback_answers_username_and_keyboard_interactive_password():
    asked = [request(VIR_CRED_USERNAME), request(VIR_CRED_NOECHOPROMPT)]
    assert answer_auth(asked, Credentials("root", "pw")) == 0
    assert [item[4] for item in asked] == ["root", "pw"]


def test_name_falls_back_to_libvirts_default_when_none_is_stored():
    asked = [request(VIR_CRED_AUTHNAME, default="local-user"), request(VIR_CRED_PASSPHRASE)]
    assert answer_auth(asked, Credentials("", "pw")) == 0
    assert asked[0][4] == "local-user"


def test_missing_password_refuses_instead_of_sending_an_empty_one():
    asked = [request(VIR_CRED_AUTHNAME), request(VIR_CRED_PASSPHRASE)]
    assert answer_auth(asked, Credentials("admin", "")) == -1
    assert asked[1][4] is None


def test_prompts_it_cannot_answer_are_refused():
    # e.g. libssh asking whether to accept an unknown host key: never answered blindly.
    asked = [request(VIR_CRED_ECHOPROMPT)]
    assert answer_auth(asked, Credentials("root", "pw")) == -1
    assert asked[0][4] is None


def test_password_never_shows_in_repr():
    assert "s3cret" not in repr(Credentials("admin", "s3cret"))


def test_registry_is_keyed_by_uri_and_empty_credentials_forget():
    hv.set_credentials("qemu+tls://kvm1.example/system", "admin", "pw")
    assert hv.registered_credentials("qemu+tls://kvm1.example/system") == Credentials("admin", "pw")
    assert hv.registered_credentials("qemu+tls://kvm2.example/system") is None
    hv.set_credentials("qemu+tls://kvm1.example/system", "", "")
    assert hv.registered_credentials("qemu+tls://kvm1.example/system") is None


def test_connection_with_registered_credentials_opens_through_open_auth():
    hv.set_credentials(URI, "admin", "pw")
    conn = hv.get_connection(URI)
    # The test driver asks for nothing; the connection is an ordinary pooled one.
    assert conn.getType() == "TEST" and hv.get_connection(URI) is conn
    assert URI in connection.pooled_uris()


@pytest.mark.parametrize("uri,username,expected", [
    ("qemu+ssh://kvm1.example/system", "root", "qemu+ssh://root@kvm1.example/system"),
    ("qemu+libssh://kvm1.example:2222/system?known_hosts=/x", "ops",
     "qemu+libssh://ops@kvm1.example:2222/system?known_hosts=/x"),
    ("qemu+ssh://admin@kvm1.example/system", "root", "qemu+ssh://admin@kvm1.example/system"),
    ("qemu+ssh://kvm1.example/system", "", "qemu+ssh://kvm1.example/system"),
    ("qemu+tcp://kvm1.example/system", "root", "qemu+tcp://kvm1.example/system"),
    ("qemu+tls://kvm1.example/system", "root", "qemu+tls://kvm1.example/system"),
    ("qemu:///system", "root", "qemu:///system"),
])
def test_ssh_transports_get_the_login_name_in_the_uri(uri, username, expected):
    assert uri_with_login(uri, username) == expected


# ------------------------------------------------------------- a libvirtd that demands a SASL login


@pytest.fixture(scope="module")
def sasl_libvirtd():
    daemon = SaslLibvirtd("cloud-admin", "s3cret-pw")
    daemon.start()
    yield daemon
    hv.close_all()
    daemon.stop()


@pytest.fixture
def sasl_uri(sasl_libvirtd):
    yield sasl_libvirtd.test_uri
    hv.close_all()
    hv.set_credentials(sasl_libvirtd.test_uri, "", "")


def test_registered_credentials_log_in_over_sasl(sasl_uri):
    hv.set_credentials(sasl_uri, "cloud-admin", "s3cret-pw")
    assert hv.ping(sasl_uri)
    assert hv.host_facts(sasl_uri).cpu_cores > 0


def test_wrong_password_is_refused_by_the_daemon(sasl_uri):
    hv.set_credentials(sasl_uri, "cloud-admin", "not-the-password")
    with pytest.raises(hv.ConnectionFailed) as failure:
        hv.get_connection(sasl_uri)
    assert failure.value.code == VIR_ERR_AUTH_FAILED


def test_without_credentials_the_daemon_refuses(sasl_uri):
    with pytest.raises(hv.ConnectionFailed) as failure:
        hv.get_connection(sasl_uri)
    assert failure.value.code == VIR_ERR_AUTH_FAILED


def test_the_abi_values_above_are_the_types_the_driver_answers():
    assert connection.AUTH_CREDENTIAL_TYPES == (VIR_CRED_AUTHNAME, VIR_CRED_USERNAME, VIR_CRED_PASSPHRASE,
                                                VIR_CRED_NOECHOPROMPT)
