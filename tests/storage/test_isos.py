"""ISOs are templates in format ISO: ISO listings show only them, template listings never do."""

from __future__ import annotations

import pytest

from storage.selectors import template_list
from storage.selectors_isos import iso_get, iso_list
from tests import factories

pytestmark = pytest.mark.django_db


def test_isos_and_templates_are_listed_apart(cloud):
    iso = factories.TemplateFactory(name="netinst", format="ISO")
    tools = factories.TemplateFactory(name="tools", format="ISO", bootable=False)
    assert set(template_list(caller=cloud.alice)) == {cloud.template}
    assert set(iso_list(caller=cloud.alice)) == {iso, tools}
    assert list(iso_list(caller=cloud.alice, bootable=True)) == [iso]
    assert list(iso_list(caller=cloud.alice, bootable=False)) == [tools]
    assert iso_get(caller=cloud.alice, iso_id=str(iso.uuid)) == iso


def test_private_isos_stay_with_their_account(cloud):
    private = factories.TemplateFactory(name="mine", format="ISO", is_public=False, account=cloud.alice.account,
                                        domain=cloud.alice.account.domain)
    assert list(iso_list(caller=cloud.alice, iso_filter="self")) == [private]
    assert private not in iso_list(caller=cloud.bob)
