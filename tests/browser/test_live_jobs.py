"""Live jobs in a real browser: deploy a VM through the UI while no agent runs, then start the agent and
watch, without any reload and without any HTTP polling, the VM's row go Starting -> Running, the job page
follow the job to its result, and the running-jobs tray show the job and let it go.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, Request

from tests.browser.conftest import Portal, deploy_with_wizard, login

pytestmark = pytest.mark.browser

AGENT_TIMEOUT_MS = 90_000  # the agent process starts, reconnects the host, then runs the queued job


def mark_page(page: Page) -> None:
    """A value only this page load has: if it is still there later, the page was never reloaded."""
    page.evaluate("window.__sameLoad = 'never reloaded'")


def same_load(page: Page) -> bool:
    return page.evaluate("window.__sameLoad") == "never reloaded"


def socket_open(page: Page) -> None:
    page.wait_for_selector("#job-tray[data-state='open']", state="attached")


def labels(page: Page) -> dict:
    return json.loads(page.locator("#live-labels").text_content())


def deploy(page: Page, portal: Portal, name: str) -> tuple[str, str]:
    """Deploy through the wizard, then open the deploy job's page (linked from the VM page it lands on);
    returns (job id, VM id)."""
    vm_id = deploy_with_wizard(page, portal, name)
    job_id = page.locator("[data-job-pending]").first.get_attribute("data-job-pending")
    page.goto(f"{portal.base}/jobs/{job_id}/")
    return job_id, vm_id


def test_deployed_vm_goes_starting_to_running_without_reloading(portal: Portal, context: BrowserContext,
                                                                browser):
    job_page = context.new_page()
    login(job_page, portal)
    job_id, vm_id = deploy(job_page, portal, "live1")
    state_on_job_page = job_page.locator(f"[data-vm-state='{vm_id}']")
    assert state_on_job_page.inner_text() == "Starting"
    assert job_page.locator(f"[data-job-status='{job_id}']").first.inner_text() == "Pending"
    assert job_page.locator("meta[http-equiv='refresh']").count() == 0

    vm_list = context.new_page()
    vm_list.goto(f"{portal.base}/vms/")
    row_state = vm_list.locator(f"[data-vm-state='{vm_id}']")
    assert row_state.inner_text() == "Starting"
    # The same list for someone reading Simplified Chinese: labels come from the page, not from the script.
    zh_context = browser.new_context()
    zh_context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": portal.base}])
    zh_list = zh_context.new_page()
    login(zh_list, portal)
    zh_list.goto(f"{portal.base}/vms/")

    pages = (job_page, vm_list, zh_list)
    for page in pages:
        socket_open(page)
        mark_page(page)
    # The tray shows the pending job (from the snapshot the socket sends on connect).
    vm_list.wait_for_selector(f"#job-tray [data-tray-job='{job_id}'][data-status='pending']")
    tray_item = vm_list.locator(f"#job-tray [data-tray-job='{job_id}']")
    assert vm_list.locator("#job-tray").is_visible()
    assert "live1" in tray_item.inner_text()

    http_requests: list[str] = []

    def record(request: Request) -> None:
        http_requests.append(request.url)

    vm_list.on("request", record)

    with portal.agent():
        vm_list.wait_for_function(
            "id => document.querySelector(`[data-vm-state='${id}']`).textContent.trim() === 'Running'",
            arg=vm_id, timeout=AGENT_TIMEOUT_MS)
        assert "state-running" in row_state.get_attribute("class").split()
        assert "state-starting" not in row_state.get_attribute("class").split()

        # The tray shows the outcome, then lets the job go.
        vm_list.wait_for_selector(f"#job-tray [data-tray-job='{job_id}'][data-status='succeeded']",
                                  state="attached")
        vm_list.wait_for_selector(f"#job-tray [data-tray-job='{job_id}']", state="detached", timeout=15_000)
        vm_list.wait_for_selector("#job-tray", state="hidden")

        # The job page: status, progress, and its result card re-rendered once the job ended.
        job_page.wait_for_selector("#job-card .ok")  # "Completed successfully."
        assert job_page.locator(f"[data-job-status='{job_id}']").first.inner_text() == "Succeeded"
        assert job_page.locator(f"dd[data-job-progress='{job_id}']").inner_text() == "100%"
        assert job_page.locator(f"[role=progressbar][data-job-progress='{job_id}']").get_attribute(
            "aria-valuenow") == "100"
        assert state_on_job_page.inner_text() == "Running"

        zh_state = zh_list.locator(f"[data-vm-state='{vm_id}']")
        zh_running = labels(zh_list)["vm"]["Running"]
        assert zh_running != "Running"  # translated
        zh_list.wait_for_function(
            "([id, text]) => document.querySelector(`[data-vm-state='${id}']`).textContent.trim() === text",
            arg=[vm_id, zh_running])
        assert "state-running" in zh_state.get_attribute("class").split()

    for page in pages:
        assert same_load(page), page.url
    # Nothing was fetched while the VM list waited: updates came over the WebSocket only.
    assert http_requests == []
    zh_context.close()


def test_tray_follows_a_job_started_from_another_page(portal: Portal, context: BrowserContext):
    """A stop requested in one tab shows up in the tray and the VM's state of another, then ends."""
    actions = context.new_page()
    login(actions, portal)
    _job_id, vm_id = deploy(actions, portal, "live2")
    with portal.agent():
        actions.goto(f"{portal.base}/vms/{vm_id}/")
        actions.wait_for_function(
            "id => document.querySelector(`[data-vm-state='${id}']`).textContent.trim() === 'Running'",
            arg=vm_id, timeout=AGENT_TIMEOUT_MS)

    watcher = context.new_page()
    watcher.goto(f"{portal.base}/vms/{vm_id}/")
    socket_open(watcher)
    mark_page(watcher)
    # The VM page's header (and the actions it offers) re-renders when the state changes.
    watcher.wait_for_selector("#vm-head form[action$='/stop/']", state="attached")

    actions.goto(f"{portal.base}/vms/{vm_id}/")
    actions.locator("#vm-head form[action$='/stop/'] button[value='1']").click()  # force stop
    actions.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    stop_job = actions.url.rstrip("/").rsplit("/", 1)[1]

    watcher.wait_for_selector(f"#job-tray [data-tray-job='{stop_job}'][data-status='pending']", state="attached")
    state = watcher.locator(f"h1 [data-vm-state='{vm_id}']")
    assert state.inner_text() == "Stopping"
    with portal.agent():
        watcher.wait_for_function(
            "id => document.querySelector(`h1 [data-vm-state='${id}']`).textContent.trim() === 'Stopped'",
            arg=vm_id, timeout=AGENT_TIMEOUT_MS)
        watcher.wait_for_selector(f"#job-tray [data-tray-job='{stop_job}'][data-status='succeeded']",
                                  state="attached")
    # htmx re-rendered the header: a stopped VM offers Start, no longer Stop.
    watcher.wait_for_selector("#vm-head form[action$='/start/']", state="attached")
    assert watcher.locator("#vm-head form[action$='/stop/']").count() == 0
    assert same_load(watcher)
