"""The unmodified `cs` command line against a real server socket (pytest-django's live_server).

The CLI reads its endpoint and keys from CLOUDSTACK_ENDPOINT/KEY/SECRET, prints the answer as JSON, waits for
async results by polling queryAsyncJobResult unless given --async, and exits nonzero on an error answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from compute.models import VirtualMachine
from infrastructure import hypervisor as hv

pytestmark = pytest.mark.django_db(transaction=True)

CS = Path(sys.executable).with_name("cs")


@pytest.fixture
def cs_cli(live_server, keys, tmp_path):
    """Run `cs <command> <key=value>...` as `username`; returns the finished process."""
    assert CS.exists(), f"the cs console script is not installed next to {sys.executable}"

    def run(username: str, *args: str) -> subprocess.CompletedProcess[str]:
        api_key, secret = keys[username]
        env = {name: value for name, value in os.environ.items() if not name.startswith("CLOUDSTACK_")}
        env.update(HOME=str(tmp_path), CLOUDSTACK_ENDPOINT=f"{live_server.url}/client/api", CLOUDSTACK_KEY=api_key,
                   CLOUDSTACK_SECRET=secret, CLOUDSTACK_POLL_INTERVAL="0.05", CLOUDSTACK_TIMEOUT="30")
        return subprocess.run([str(CS), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, check=False)

    return run


def traced_commands(stderr: str) -> list[str]:
    """The `command` of every request `cs --trace` printed (one "GET <url>" line per request)."""
    commands = []
    for line in stderr.splitlines():
        if line.startswith("GET http"):
            commands.extend(parse_qs(urlsplit(line.split(" ", 1)[1]).query).get("command", []))
    return commands


def deploy_args(cloud, name: str) -> list[str]:
    return [f"zoneid={cloud.zone.uuid}", f"serviceofferingid={cloud.offering.uuid}",
            f"templateid={cloud.template.uuid}", f"name={name}"]


def test_cli_lists(cloud, cs_cli):
    done = cs_cli("alice", "listZones")

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["count"] == 1
    assert [(zone["id"], zone["name"]) for zone in answer["zone"]] == [(str(cloud.zone.uuid), cloud.zone.name)]


def test_cli_deploy_polls_the_job_until_the_vm_runs(cloud, cs_cli):
    done = cs_cli("alice", "--trace", "deployVirtualMachine", *deploy_args(cloud, "cli1"))

    assert done.returncode == 0, done.stderr
    vm = json.loads(done.stdout)["virtualmachine"]
    assert (vm["name"], vm["state"]) == ("cli1", "Running")
    # It sent the command once, then polled the job.
    commands = traced_commands(done.stderr)
    assert commands[0] == "deployVirtualMachine" and commands.count("deployVirtualMachine") == 1
    assert set(commands[1:]) == {"queryAsyncJobResult"} and len(commands) >= 2
    row = VirtualMachine.objects.get(uuid=vm["id"])
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.RUNNING


def test_cli_async_flag_answers_with_the_job_without_waiting(cloud, cs_cli):
    done = cs_cli("alice", "--async", "--trace", "deployVirtualMachine", *deploy_args(cloud, "cli2"))

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"id", "jobid"}
    assert traced_commands(done.stderr) == ["deployVirtualMachine"]
    job = json.loads(cs_cli("alice", "queryAsyncJobResult", f"jobid={answer['jobid']}").stdout)
    assert job["jobid"] == answer["jobid"] and job["jobinstanceid"] == answer["id"]


def test_cli_error_exits_nonzero_with_the_errorcode(cloud, cs_cli):
    missing = str(uuid.uuid4())
    done = cs_cli("alice", "startVirtualMachine", f"id={missing}")

    assert done.returncode != 0
    assert "HTTP 431 response from CloudStack" in done.stderr
    error = json.loads(done.stdout)["startvirtualmachineresponse"]
    assert (error["errorcode"], error["cserrorcode"]) == (431, 4350)
    assert missing in error["errortext"]


def test_cli_failed_job_exits_nonzero_with_the_jobs_errorcode(cloud, cs_cli):
    # A host whose libvirtd is gone: nothing listens on port 1.
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"
    cloud.host.save()

    done = cs_cli("alice", "deployVirtualMachine", *deploy_args(cloud, "doomed"))

    assert done.returncode != 0
    assert "Job failure" in done.stderr
    job = json.loads(done.stdout)["queryasyncjobresultresponse"]
    assert (job["jobstatus"], job["jobresultcode"], job["jobresult"]["errorcode"]) == (2, 530, 530)
    assert VirtualMachine.objects.get(name="doomed").state == "Error"


def test_cli_unknown_command_is_401(cloud, cs_cli):
    done = cs_cli("alice", "fooBar")
    assert done.returncode != 0
    assert json.loads(done.stdout)["errorresponse"]["errorcode"] == 401
