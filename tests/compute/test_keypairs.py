"""SSH key pairs through the service layer: generated pairs hand out the private key once, registered keys
get CloudStack's MD5 fingerprint (checked against ssh-keygen), names are unique per account, admins act for
the accounts they manage."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from compute.models import SSHKeyPair
from compute.selectors_keypairs import keypair_get_by_name, keypair_list
from compute.services_keypairs import keypair_create, keypair_delete, keypair_register
from portal.errors import InvalidParameter, NotFound, PermissionDenied
from portal.models import ResourceTag
from portal.services_tags import tags_create

pytestmark = pytest.mark.django_db

# A fixed ed25519 public key and its MD5 fingerprint as `ssh-keygen -l -E md5` prints it.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0JNFqByTj6bSK2pYgJ1xN4Bi7a2/Jx6Vbrc3nGKqD alice@laptop"


def ssh_keygen_md5(public_key: str, tmp_path) -> str:
    path = tmp_path / "key.pub"
    path.write_text(public_key + "\n")
    out = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1].removeprefix("MD5:")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_registered_key_gets_cloudstacks_md5_fingerprint(cloud, tmp_path):
    pair = keypair_register(caller=cloud.alice, name="laptop", public_key=f"  {ED25519}\n")

    assert pair.fingerprint == ssh_keygen_md5(ED25519, tmp_path)
    assert pair.public_key == ED25519
    assert pair.account == cloud.alice.account and pair.domain == cloud.alice.account.domain


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_created_pair_returns_a_matching_private_key_once(cloud, tmp_path):
    pair, private_pem = keypair_create(caller=cloud.alice, name="generated")

    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    pair.refresh_from_db()
    assert pair.public_key.split()[:2] == derived.split()[:2]
    assert pair.fingerprint == ssh_keygen_md5(pair.public_key, tmp_path)
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    stored = SSHKeyPair.objects.filter(pk=pair.pk).values()[0]
    assert not any("PRIVATE" in str(value) for value in stored.values())


@pytest.mark.parametrize("bad", ["", "ssh-rsa", "ssh-rsa not-base64!!", "hello world",
                                 "ssh-rsa AAAAB3NzaC1yc2E= truncated"])
def test_invalid_public_keys_are_refused(cloud, bad):
    with pytest.raises(InvalidParameter):
        keypair_register(caller=cloud.alice, name="bad", public_key=bad)
    assert not SSHKeyPair.objects.exists()


def test_names_are_unique_per_account_not_globally(cloud):
    keypair_register(caller=cloud.alice, name="laptop", public_key=ED25519)
    with pytest.raises(InvalidParameter, match="already exists"):
        keypair_create(caller=cloud.alice, name="laptop")
    with pytest.raises(InvalidParameter, match="same public key"):
        keypair_register(caller=cloud.alice, name="other", public_key=ED25519)

    keypair_register(caller=cloud.bob, name="laptop", public_key=ED25519)

    assert SSHKeyPair.objects.filter(name="laptop").count() == 2


def test_tenancy_of_lookup_list_and_delete(cloud):
    mine = keypair_register(caller=cloud.alice, name="laptop", public_key=ED25519)

    assert list(keypair_list(caller=cloud.bob)) == []
    assert list(keypair_list(caller=cloud.alice)) == [mine]
    assert list(keypair_list(caller=cloud.admin)) == [mine]
    with pytest.raises(NotFound):
        keypair_get_by_name(caller=cloud.bob, account=None, name="laptop")
    with pytest.raises(PermissionDenied):
        keypair_delete(caller=cloud.bob, keypair=mine)
    assert keypair_get_by_name(caller=cloud.admin, account=cloud.alice.account, name="laptop") == mine


def test_admin_creates_for_another_account_but_users_cannot(cloud):
    pair, _private = keypair_create(caller=cloud.admin, name="ops", account=cloud.alice.account)
    assert pair.account == cloud.alice.account

    with pytest.raises(PermissionDenied):
        keypair_create(caller=cloud.bob, name="sneaky", account=cloud.alice.account)
    assert not SSHKeyPair.objects.filter(name="sneaky").exists()


def test_delete_removes_the_pair_and_its_tags(cloud):
    pair = keypair_register(caller=cloud.alice, name="laptop", public_key=ED25519)
    tags_create(caller=cloud.alice, resource_type="SSHKeyPair", resource_ids=[str(pair.uuid)], tags={"a": "b"})

    keypair_delete(caller=cloud.alice, keypair=pair)

    assert not SSHKeyPair.objects.exists()
    assert not ResourceTag.objects.exists()
