"""Template tags of the live updates (`{% load live_tags %}`), used by templates/ui/_job_tray.html.

- `{% live_labels %}`: a JSON script tag (id "live-labels") with the translated labels static/js/live.js
  shows for VM states, job statuses and job commands. The labels are rendered by the server in the page's
  language, so the script holds no English and needs no catalogue of its own.
- `{% live_ws_path %}`: the path of the WebSocket (portal.routing).
"""

from __future__ import annotations

from django import template
from django.urls import get_script_prefix
from django.utils.html import json_script
from django.utils.safestring import SafeString

from compute.states import VmState
from portal.live import WS_PATH
from portal.models import AsyncJob
from portal.ui.shortcuts import CMD_LABELS

register = template.Library()

LABELS_ID = "live-labels"


@register.simple_tag
def live_labels() -> SafeString:
    labels = {
        "vm": {state.value: str(state.label) for state in VmState},
        # Keyed like the messages' "status": pending, succeeded, failed, cancelled.
        "job": {status.name.lower(): str(status.label) for status in AsyncJob.Status},
        "cmd": {cmd: str(label) for cmd, label in CMD_LABELS.items()},
    }
    return json_script(labels, LABELS_ID)


@register.simple_tag
def live_ws_path() -> str:
    """Under the script prefix: behind a proxy mounting the portal at /cloud, the socket is /cloud/ws/jobs/."""
    return f"{get_script_prefix()}{WS_PATH.lstrip('/')}"
