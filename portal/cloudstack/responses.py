"""Response objects shared by every app's declarations: owner fields and the async job object."""

from __future__ import annotations

from typing import Any

from accounts.models import TenantOwned
from portal.cloudstack.registry import Call, get_object_type
from portal.errors import ServiceError
from portal.models import AsyncJob

JOB_FIELDS = (
    "jobid", "accountid", "account", "domainid", "domainpath", "userid", "cmd", "jobstatus", "jobprocstatus",
    "jobresultcode", "jobresulttype", "jobresult", "jobinstancetype", "jobinstanceid", "created", "completed",
)


def owner_fields(obj: TenantOwned) -> dict[str, Any]:
    """The account/domain trio every tenant-owned CloudStack object carries."""
    return {"account": obj.account.name, "domainid": str(obj.domain.uuid), "domain": obj.domain.name}


def render_result_object(call: Call, model: str, object_id: str) -> dict[str, Any]:
    """A job's produced object as it is now, looked up within the caller's reach: {"<name>": {...}}."""
    object_type = get_object_type(model)
    if object_type is None:
        return {model: {"id": object_id}}
    try:
        obj = object_type.lookup(call.caller, object_id)
    except ServiceError:
        # Gone (expunged) or outside the caller's reach: the id is all the caller may learn.
        return {object_type.name: {"id": object_id}}
    return {object_type.name: object_type.render(call, obj)}


def job_result(call: Call, job: AsyncJob) -> dict[str, Any] | None:
    if job.status == AsyncJob.Status.PENDING or job.result is None:
        return None
    result = job.result
    if job.status == AsyncJob.Status.SUCCEEDED:
        if "object" in result:
            return render_result_object(call, result["object"], result["id"])
        text = result.get("text")
        return {"success": True, "displaytext": text} if text else {"success": True}
    return {"errorcode": result.get("errorcode", 530), "errortext": result.get("errortext", "")}


def render_job(call: Call, job: AsyncJob) -> dict[str, Any]:
    """CloudStack's AsyncJobResponse: the answer of queryAsyncJobResult and each item of listAsyncJobs."""
    object_type = get_object_type(job.instance_type) if job.instance_type else None
    return {
        "jobid": str(job.uuid),
        "accountid": str(job.account.uuid),
        "account": job.account.name,
        "domainid": str(job.domain.uuid),
        "domainpath": job.domain.cloudstack_path,
        "userid": str(job.user.uuid) if job.user_id else None,
        "cmd": job.cmd,
        "jobstatus": int(job.status),
        "jobprocstatus": int(job.progress),
        "jobresultcode": int(job.result_code),
        "jobresulttype": job.result_type or "object",
        "jobresult": job_result(call, job),
        "jobinstancetype": object_type.instance_type if object_type else (job.instance_type or None),
        "jobinstanceid": job.instance_id or None,
        "created": job.created,
        "completed": job.completed,
    }
