"""The deploy wizard in a real browser: every step, the review, and the VM page it lands on, whose tabs are
links and whose Metrics and Snapshots panels are loaded by htmx."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Portal, login

pytestmark = pytest.mark.browser


def test_the_wizard_walks_every_step_and_lands_on_the_vm_page(portal: Portal, page: Page):
    login(page, portal)
    page.goto(f"{portal.base}/vms/deploy/")

    page.wait_for_selector("form[data-deploy-step='zone']")
    page.get_by_label("Zone1").check()
    page.get_by_role("button", name="Next").click()

    page.wait_for_selector("form[data-deploy-step='image']")
    assert page.locator("#images-templates").is_visible() and page.locator("#images-isos").count() == 1
    page.get_by_label("Tiny Linux").check()
    page.get_by_role("button", name="Next").click()

    page.wait_for_selector("form[data-deploy-step='offering']")
    page.get_by_label("Small Instance").check()
    page.get_by_role("button", name="Next").click()

    for step in ("disk", "access", "affinity"):
        page.wait_for_selector(f"form[data-deploy-step='{step}']")
        if step == "access":
            page.fill("#id_user_data", "#cloud-config\nhostname: wizard1\n")
        page.get_by_role("button", name="Next").click()

    page.wait_for_selector("form[data-deploy-step='details']")
    page.fill("#id_name", "wizard1")
    page.fill("#id_display_name", "Wizard one")
    # Back and forth keeps what was typed.
    page.get_by_role("button", name="Back").click()
    page.wait_for_selector("form[data-deploy-step='affinity']")
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector("form[data-deploy-step='details']")
    assert page.input_value("#id_name") == "wizard1"
    page.get_by_role("button", name="Next").click()

    page.wait_for_selector("form[data-deploy-step='review']")
    review = page.locator("#deploy-review").inner_text()
    for text in ("Zone1", "Tiny Linux", "Small Instance", "wizard1", "Wizard one"):
        assert text in review
    page.get_by_role("button", name="Deploy", exact=True).click()

    page.wait_for_url(re.compile(r"/vms/[0-9a-f-]{36}/$"))
    assert page.locator("h1").first.inner_text().startswith("wizard1")
    assert page.locator("nav.tabs a[aria-current='page']").inner_text() == "Overview"
    page.locator("nav.tabs a[data-tab='volumes']").click()
    page.wait_for_url(re.compile(r"\?tab=volumes$"))
    assert "ROOT-" in page.locator("#vm-volumes").inner_text()
