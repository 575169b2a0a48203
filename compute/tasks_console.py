"""Worker side of the console: reading the serial console log on the VM's host.

Runs in the host's agent, which is on the host (hosts write the log under CIRROSTACK_SERIAL_LOG_DIR). The
log is appended to across boots and survives the domain, so it is there for a stopped VM too.
"""

from __future__ import annotations

import os

from django.utils.translation import gettext as _

from compute.models import VirtualMachine
from compute.specs import serial_log_path
from portal.errors import OperationFailed
from portal.jobs import JobOutcome
from portal.models import AsyncJob


def run_serial_read(job: AsyncJob) -> JobOutcome:
    vm = VirtualMachine.objects.get(uuid=job.instance_id)
    path = serial_log_path(vm)
    max_bytes = int(job.params.get("max_bytes", 65536))
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - max_bytes))
            tail = log.read()
    except FileNotFoundError as exc:
        raise OperationFailed(_("VM %(name)s has written nothing to its serial console yet.") % {
            "name": vm.name}) from exc
    except OSError as exc:
        raise OperationFailed(_("The serial console log of VM %(name)s cannot be read: %(error)s") % {
            "name": vm.name, "error": exc.strerror}) from exc
    if size > max_bytes:
        # Start at a line boundary: the cut may fall inside a line or a multi-byte character.
        tail = tail.split(b"\n", 1)[-1]
    return JobOutcome(text=tail.decode("utf-8", "replace"))
