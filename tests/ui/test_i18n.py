"""The web UI in Simplified Chinese."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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


# What the extraction skips: not shipped, or not ours (the documented makemessages command ignores these too).
NOT_EXTRACTED = (".venv", "var", "tests", "bin", ".git", ".ci", "docs", "node_modules", "__pycache__", "*.egg-info",
                 "*.mo")
ZH_LOCALE = Path("portal") / "locale" / "zh_Hans" / "LC_MESSAGES"


def _msgids(po_text: str) -> list[str]:
    """The msgids of a PO file's entries (the header's empty msgid left out), for a readable failure."""
    ids = []
    for block in po_text.split("\n\n"):
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if match:
            text = "".join(re.findall(r'"(.*)"', match.group(1)))
            context = re.search(r'^msgctxt "(.*)"', block, re.M)
            if text:
                ids.append(f"{context.group(1)}|{text}" if context else text)
    return ids


def test_every_msgid_used_in_code_and_templates_is_translated(tmp_path):
    """Django's own extraction (makemessages) over a copy of the project, merged into a copy of the committed
    catalogue: a string the code or a template uses that the catalogue lacks comes out untranslated (or
    fuzzy, msgmerge's guess from a similar string), and fails here with its msgid."""
    for tool in ("xgettext", "msgmerge", "msgattrib", "msgfmt"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} (GNU gettext) is needed: apt-get install gettext")
    copy = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=shutil.ignore_patterns(*NOT_EXTRACTED))
    env = {**os.environ, "CIRROSTACK_DATA_DIR": str(tmp_path / "data")}
    for domain in ("django", "djangojs"):
        subprocess.run([sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--domain", domain,
                        "--no-obsolete"], cwd=copy, env=env, check=True, capture_output=True, text=True)

    merged = copy / ZH_LOCALE / "django.po"
    assert len(_msgids(merged.read_text())) > 100  # the extraction really ran over the project
    problems = {}
    for po in sorted((copy / ZH_LOCALE).glob("*.po")):
        untranslated = subprocess.run(["msgattrib", "--untranslated", "--no-obsolete", str(po)],
                                      capture_output=True, text=True, check=True).stdout
        fuzzy = subprocess.run(["msgattrib", "--only-fuzzy", "--no-obsolete", str(po)],
                               capture_output=True, text=True, check=True).stdout
        missing = _msgids(untranslated) + _msgids(fuzzy)
        if missing:
            problems[po.name] = missing
    assert problems == {}, "untranslated zh-Hans msgids (run makemessages and translate them):\n" + "\n".join(
        f"{name}: {msgid}" for name, ids in problems.items() for msgid in ids)
