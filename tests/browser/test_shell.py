"""The web UI shell in a real browser (the system Chromium, driven by Playwright, against the portal served by
uvicorn: tests/browser/conftest.py): the language switch, dark mode, the phone layout, and the htmx table.

What is asserted is what a person sees or keeps: the page's language and its text, the computed background
colour, the theme attribute the server renders before the first paint, where the navigation is on a phone
screen and whether it can be opened, and that a search swaps the table without reloading the page. No
assertion depends on fonts; screenshots are written for people to look at (CIRROSTACK_SCREENSHOT_DIR keeps
them) and checked for their size only.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import Portal, deploy_with_wizard, login

pytestmark = pytest.mark.browser

LIGHT_BACKGROUND = "rgb(244, 246, 249)"  # --bg of static/css/portal.css
DARK_BACKGROUND = "rgb(15, 20, 27)"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    kept = os.environ.get("CIRROSTACK_SCREENSHOT_DIR")
    folder = Path(kept) if kept else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def new_context(browser: Browser, **options) -> BrowserContext:
    context = browser.new_context(**options)
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    yield context.new_page()
    context.close()


def theme_of(page: Page) -> str | None:
    return page.evaluate("document.documentElement.getAttribute('data-theme')")


def background_of(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def heading(page: Page) -> str:
    return page.locator("main h1").first.inner_text().strip()


def mark_page(page: Page) -> None:
    page.evaluate("window.__sameLoad = 'never reloaded'")


def same_load(page: Page) -> bool:
    return page.evaluate("window.__sameLoad") == "never reloaded"


def deploy(page: Page, portal: Portal, name: str) -> None:
    """Deploy through the wizard (no agent runs: the VM stays Starting, which is all a table row needs)."""
    deploy_with_wizard(page, portal, name)


# --- language --------------------------------------------------------------------------------------------

def test_switching_to_chinese_translates_this_page_and_the_next(portal: Portal, page: Page, screenshots: Path):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    login(page, portal)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert heading(page) == "Dashboard"

    page.locator(".sidebar button.lang[value='zh-hans']").click()
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")

    assert heading(page) == "仪表盘"
    nav = page.locator("nav.nav")
    assert "虚拟机" in nav.inner_text() and "Virtual machines" not in nav.inner_text()
    assert page.locator(".sidebar button.lang[value='zh-hans']").get_attribute("aria-pressed") == "true"

    page.locator("nav.nav a[href='/vms/']").click()
    page.wait_for_url(f"{portal.base}/vms/")
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    assert heading(page) == "虚拟机"
    assert page.locator("input[type=search]").get_attribute("placeholder") == "按名称搜索"
    page.screenshot(path=str(screenshots / "desktop-zh-hans.png"))

    # Everything the pages loaded came from the portal itself: no CDN, nothing from the internet.
    assert requested
    assert [url for url in requested if not url.startswith((portal.base, "data:"))] == []


# --- dark mode -------------------------------------------------------------------------------------------

def test_dark_mode_persists_across_reloads_and_pages(portal: Portal, page: Page, screenshots: Path):
    login(page, portal)
    assert theme_of(page) is None and background_of(page) == LIGHT_BACKGROUND
    toggle = page.locator(".sidebar [data-theme-toggle]")
    assert toggle.is_visible() and toggle.get_attribute("aria-pressed") == "false"
    page.screenshot(path=str(screenshots / "desktop-light.png"))

    toggle.click()

    assert theme_of(page) == "dark" and background_of(page) == DARK_BACKGROUND
    assert toggle.get_attribute("aria-pressed") == "true"
    page.screenshot(path=str(screenshots / "desktop-dark.png"))

    # Reloaded: the server renders the theme into <html> from the cookie, before any script runs.
    response = page.reload()
    assert '<html lang="en" data-theme="dark">' in response.text()
    assert theme_of(page) == "dark" and background_of(page) == DARK_BACKGROUND

    page.locator("nav.nav a[href='/jobs/']").click()
    page.wait_for_url(f"{portal.base}/jobs/")
    assert theme_of(page) == "dark" and background_of(page) == DARK_BACKGROUND
    assert page.locator(".sidebar [data-theme-toggle]").get_attribute("aria-pressed") == "true"

    page.locator(".sidebar [data-theme-toggle]").click()
    page.reload()
    assert theme_of(page) == "light" and background_of(page) == LIGHT_BACKGROUND


def test_without_a_choice_the_system_preference_decides(portal: Portal, browser: Browser):
    context = new_context(browser, color_scheme="dark")
    try:
        page = context.new_page()
        login(page, portal)
        assert theme_of(page) is None and background_of(page) == DARK_BACKGROUND
        toggle = page.locator(".sidebar [data-theme-toggle]")
        assert toggle.get_attribute("aria-pressed") == "true"

        toggle.click()  # the visitor prefers light here, whatever the system says
        page.reload()

        assert theme_of(page) == "light" and background_of(page) == LIGHT_BACKGROUND
    finally:
        context.close()


def test_the_theme_can_be_chosen_before_signing_in(portal: Portal, page: Page):
    page.goto(f"{portal.base}/login/")
    page.locator(".login-card [data-theme-toggle]").click()
    assert background_of(page) == DARK_BACKGROUND

    login(page, portal)

    assert theme_of(page) == "dark" and background_of(page) == DARK_BACKGROUND


# --- phone width -----------------------------------------------------------------------------------------

def test_on_a_phone_the_menu_button_opens_the_navigation(portal: Portal, phone: Page, screenshots: Path):
    page = phone
    login(page, portal)
    menu = page.locator(".menu-toggle")
    vms_link = page.locator("nav.nav a[href='/vms/']")

    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not vms_link.is_visible()  # folded away: the page starts right below the top bar
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    top_bar = page.locator(".sidebar").bounding_box()
    assert top_bar["y"] == 0 and top_bar["height"] < 80 and top_bar["width"] == PHONE["width"]
    closed = screenshots / "phone-menu-closed.png"
    page.screenshot(path=str(closed))
    assert png_size(closed) == (PHONE["width"], PHONE["height"])

    menu.click()

    assert menu.get_attribute("aria-expanded") == "true"
    links = page.locator("nav.nav a")
    assert links.count() >= 3
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert links.nth(i).is_visible()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["y"] + box["height"] <= PHONE["height"]  # reachable without scrolling
        assert box["height"] >= 32  # big enough to tap
    opened = screenshots / "phone-menu-open.png"
    page.screenshot(path=str(opened))
    assert png_size(opened) == (PHONE["width"], PHONE["height"])

    vms_link.click()
    page.wait_for_url(f"{portal.base}/vms/")
    assert heading(page) == "Virtual machines"
    assert page.locator(".menu-toggle").get_attribute("aria-expanded") == "false"

    page.keyboard.press("Escape")  # nothing open: harmless
    page.locator(".menu-toggle").click()
    page.keyboard.press("Escape")
    assert page.locator(".menu-toggle").get_attribute("aria-expanded") == "false"
    assert not page.locator("nav.nav a[href='/vms/']").is_visible()


def test_on_a_phone_a_wide_table_scrolls_inside_its_card(portal: Portal, phone: Page, screenshots: Path):
    page = phone
    login(page, portal)
    deploy(page, portal, "phone-table-1")
    deploy(page, portal, "phone-table-2")

    page.goto(f"{portal.base}/vms/")

    wrap = page.locator("#vm-table .table-wrap")
    assert wrap.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth"), "the table fits: nothing to scroll"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the page itself does not
    assert wrap.evaluate("el => { el.scrollLeft = 10000; return el.scrollLeft > 0; }")
    shot = screenshots / "phone-vm-table.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_size(shot)[0] == PHONE["width"]


# --- the htmx table ----------------------------------------------------------------------------------------

def test_search_and_sort_swap_only_the_table(portal: Portal, page: Page):
    login(page, portal)
    deploy(page, portal, "alpha-web")
    deploy(page, portal, "bravo-db")
    page.goto(f"{portal.base}/vms/")
    mark_page(page)
    names = page.locator("#vm-table tbody td:first-child strong")
    assert "alpha-web" in names.all_inner_texts() and "bravo-db" in names.all_inner_texts()

    page.locator("#vm-table-q").fill("alpha")  # typing: htmx asks for the table after a short pause
    page.wait_for_url(re.compile(r"/vms/\?q=alpha"))
    page.wait_for_function("document.querySelectorAll('#vm-table tbody tr').length === 1")

    assert names.all_inner_texts() == ["alpha-web"]
    assert same_load(page), "the page was reloaded"
    assert page.locator("#vm-table-q").input_value() == "alpha"  # the search box was not swapped

    page.locator("#vm-table-q").fill("")
    page.wait_for_function("document.querySelectorAll('#vm-table tbody tr').length >= 2")
    name_header = page.locator("#vm-table thead th").first
    name_header.locator("a.sort").click()
    page.wait_for_url(re.compile(r"sort=name"))
    page.wait_for_selector("#vm-table th[aria-sort='ascending']")
    ascending = names.all_inner_texts()
    assert ascending == sorted(ascending)

    name_header.locator("a.sort").click()
    page.wait_for_url(re.compile(r"sort=-name"))
    page.wait_for_selector("#vm-table th[aria-sort='descending']")
    assert names.all_inner_texts() == list(reversed(ascending))
    assert same_load(page), "the page was reloaded"

    page.go_back()  # the pushed URL is real history
    page.wait_for_url(re.compile(r"sort=name$"))
    page.wait_for_selector("#vm-table th[aria-sort='ascending']")
    assert names.all_inner_texts() == ascending


def test_without_javascript_everything_still_works(portal: Portal, browser: Browser, screenshots: Path):
    """No script: the phone menu stays open, the script-only buttons stay hidden, and search and sorting
    are plain links and forms that load whole pages."""
    context = new_context(browser, viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, portal)
        assert page.locator("nav.nav a[href='/vms/']").is_visible()
        assert not page.locator(".menu-toggle").is_visible()
        assert not page.locator("[data-theme-toggle]").first.is_visible()
        page.screenshot(path=str(screenshots / "phone-no-javascript.png"))

        deploy(page, portal, "nojs-alpha")
        deploy(page, portal, "nojs-bravo")
        page.goto(f"{portal.base}/vms/")
        page.fill("#vm-table-q", "nojs-alpha")
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/vms/\?q=nojs-alpha"))
        assert page.locator("#vm-table tbody td:first-child strong").all_inner_texts() == ["nojs-alpha"]
        assert page.locator("nav.nav").count() == 1  # a whole page, not a fragment
    finally:
        context.close()
