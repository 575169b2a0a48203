"""The web UI in Simplified Chinese."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from django.conf import settings
from django.urls import reverse

from tests.ui.conftest import ZH_PO

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zh_catalog")]


def test_login_page_follows_accept_language(client):
    english = client.get(reverse("ui:login")).content.decode()
    chinese = client.get(reverse("ui:login"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    assert "Sign in" in english and "登录" not in english
    assert '<html lang="zh-hans">' in chinese
    assert "登录" in chinese and "Sign in" not in chinese


def test_pages_follow_the_language_cookie(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")
    client = login(cloud.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    dashboard = client.get(reverse("ui:dashboard")).content.decode()
    detail = client.get(reverse("compute:vm_detail", args=[vm.uuid])).content.decode()

    assert "仪表盘" in dashboard and "虚拟机" in dashboard
    assert "运行中" in detail  # the Running state badge
    assert "Dashboard" not in dashboard


def test_language_switch_sets_the_cookie(cloud, login):
    client = login(cloud.alice)

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": reverse("compute:vm_list")})

    assert response.status_code == 302 and response.url == reverse("compute:vm_list")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "部署虚拟机" in client.get(reverse("compute:vm_list")).content.decode()


def test_every_catalog_entry_is_translated():
    """makemessages collects new strings untranslated (or fuzzy); none may ship that way."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt (GNU gettext) is needed: apt-get install gettext")
    stats = subprocess.run([msgfmt, "--check-format", "--statistics", "-o", os.devnull, str(ZH_PO)],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
    assert "translated message" in stats
