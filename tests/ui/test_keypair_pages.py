"""The SSH key pair pages: a list scoped to the caller, register and create (the private key shown once, never
stored), delete (POST only); refusals shown on the form with nothing changed; another tenant's key is a 404."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.urls import reverse

from compute import services_keypairs
from compute.models import SSHKeyPair
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

LIST = reverse("compute:keypair_list")


def _public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _register(user, name):
    return services_keypairs.keypair_register(caller=user, name=name, public_key=_public_key())


def test_list_is_scoped_to_the_caller_and_admins_see_the_account(cloud, login):
    mine = _register(cloud.alice, "alice-laptop")
    theirs = _register(cloud.bob, "bob-desktop")
    html = ok(login(cloud.alice).get(LIST)).content.decode()
    assert f'data-keypair="{mine.uuid}"' in html and mine.fingerprint in html
    assert f'data-keypair="{theirs.uuid}"' not in html and "bob-desktop" not in html
    assert "Account" not in html.split("<thead>")[1].split("</thead>")[0]
    # The compute tabs lead here from the VM list, which has no navigation link of its own for key pairs.
    assert LIST in ok(login(cloud.alice).get(reverse("compute:vm_list"))).content.decode()

    admin_html = ok(login(cloud.admin).get(LIST)).content.decode()
    assert f'data-keypair="{mine.uuid}"' in admin_html and f'data-keypair="{theirs.uuid}"' in admin_html
    assert "Account" in admin_html.split("<thead>")[1].split("</thead>")[0]
    assert ">alice<" in admin_html and ">bob<" in admin_html


def test_list_queries_do_not_grow_with_rows(cloud, login):
    _register(cloud.bob, "first")  # an empty list skips the page's queries: start from one row
    client = login(cloud.admin)
    counter = iter(range(100))
    before, after = assert_queries_constant(
        lambda: ok(client.get(LIST)),
        lambda: [_register(user, f"k{next(counter)}") for user in (cloud.alice, cloud.bob, cloud.alice)])
    assert after.content.decode().count("data-keypair=") == before.content.decode().count("data-keypair=") + 3


def test_register_a_valid_key(cloud, login):
    client = login(cloud.alice)
    assert ok(client.get(reverse("compute:keypair_register")))
    public = _public_key()
    response = client.post(reverse("compute:keypair_register"), {"name": "laptop", "public_key": public + " me@x"})
    assert response.status_code == 302 and response.url == LIST
    pair = SSHKeyPair.objects.get(account=cloud.alice.account, name="laptop")
    assert pair.public_key.startswith(public)
    assert "laptop" in client.get(LIST).content.decode()


@pytest.mark.parametrize("public_key", ["not a key", "ssh-rsa !!!notbase64", "ssh-ed25519 AAAAbroken"])
def test_register_an_invalid_key_is_refused_on_the_form(cloud, login, public_key):
    response = login(cloud.alice).post(reverse("compute:keypair_register"), {"name": "bad", "public_key": public_key})
    assert response.status_code == 400
    assert "Public key is invalid" in response.content.decode()
    assert not SSHKeyPair.objects.filter(name="bad").exists()


def test_duplicate_name_is_refused_on_the_form(cloud, login):
    _register(cloud.alice, "laptop")
    response = login(cloud.alice).post(reverse("compute:keypair_create"), {"name": "laptop"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert SSHKeyPair.objects.filter(account=cloud.alice.account).count() == 1


def test_create_shows_the_private_key_once_and_stores_none(cloud, login):
    client = login(cloud.alice)
    assert ok(client.get(reverse("compute:keypair_create")))
    response = ok(client.post(reverse("compute:keypair_create"), {"name": "generated"}))
    html = response.content.decode()
    assert "-----BEGIN RSA PRIVATE KEY-----" in html
    assert 'download="generated.pem"' in html and "data:application/x-pem-file" in html
    assert "not stored" in html
    assert "no-store" in response["Cache-Control"]
    private = html.split("data-private-key>")[1].split("</textarea>")[0]
    pair = SSHKeyPair.objects.get(account=cloud.alice.account, name="generated")
    assert pair.public_key.startswith("ssh-rsa ") and pair.fingerprint in html
    # The row keeps only the public half; the private key matches it but is nowhere in the database row.
    loaded = serialization.load_pem_private_key(private.strip().encode(), password=None)
    public = loaded.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                              serialization.PublicFormat.OpenSSH).decode()
    assert pair.public_key == public
    row_values = " ".join(str(value) for value in SSHKeyPair.objects.filter(pk=pair.pk).values().get().values())
    assert "PRIVATE KEY" not in row_values and private.strip().splitlines()[1] not in row_values
    # The list never shows it again.
    assert "PRIVATE KEY" not in client.get(LIST).content.decode()


def test_delete_is_post_only(cloud, login):
    pair = _register(cloud.alice, "laptop")
    client = login(cloud.alice)
    url = reverse("compute:keypair_delete", args=[pair.uuid])
    assert client.get(url).status_code == 405
    assert SSHKeyPair.objects.filter(pk=pair.pk).exists()
    response = client.post(url)
    assert response.status_code == 302 and response.url == LIST
    assert not SSHKeyPair.objects.filter(pk=pair.pk).exists()
    assert "Deleted key pair laptop" in client.get(LIST).content.decode()


def test_another_tenants_key_is_a_404(cloud, login):
    pair = _register(cloud.bob, "bob-key")
    response = login(cloud.alice).post(reverse("compute:keypair_delete", args=[pair.uuid]))
    assert response.status_code == 404
    assert SSHKeyPair.objects.filter(pk=pair.pk).exists()


def test_csrf_is_required(cloud, login):
    pair = _register(cloud.alice, "laptop")
    client = login(cloud.alice, enforce_csrf_checks=True)
    assert client.post(reverse("compute:keypair_delete", args=[pair.uuid])).status_code == 403
    assert client.post(reverse("compute:keypair_create"), {"name": "x"}).status_code == 403
    assert SSHKeyPair.objects.filter(account=cloud.alice.account).count() == 1


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "login" in response.url
