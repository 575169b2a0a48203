"""REST resource for asynchronous jobs: GET /api/v1/jobs/ and /api/v1/jobs/<id>/.

Every long operation of the REST API answers 202 with the job (see `job_accepted`); clients poll the
job's URL until `status` leaves "pending". A job's door-neutral result is rendered here: the object it
produced as {type, id, name, url}, or {errorcode, errortext}.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from portal.models import AsyncJob
from portal.rest.filters import FilterSet, StrictBooleanFilter
from portal.rest.resources import render_ref, resolve_names
from portal.rest.serializers import ResourceRefSerializer
from portal.rest.viewsets import SelectorViewSet
from portal.selectors import job_get, job_list

# The status as a word next to CloudStack's number (jobstatus).
JOB_STATUS_NAMES: dict[int, str] = {status.value: status.name.lower() for status in AsyncJob.Status}
JOB_STATUS_VALUES: dict[str, int] = {name: value for value, name in JOB_STATUS_NAMES.items()}
JOB_STATUS_CHOICES = list(JOB_STATUS_NAMES.values())


class JobTextResultSerializer(serializers.Serializer):
    text = serializers.CharField()


class JobErrorResultSerializer(serializers.Serializer):
    errorcode = serializers.IntegerField(help_text=_("CloudStack's errorcode of the failure."))
    errortext = serializers.CharField()


JOB_RESULT_SCHEMA = PolymorphicProxySerializer(
    component_name="JobResult",
    serializers=[ResourceRefSerializer, JobErrorResultSerializer, JobTextResultSerializer],
    resource_type_field_name=None,
    allow_null=True,
)


class JobSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:job-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    status = serializers.SerializerMethodField()
    status_code = serializers.IntegerField(
        source="status", read_only=True,
        help_text=_("CloudStack's jobstatus: 0 pending, 1 succeeded, 2 failed, 3 cancelled."))
    resource = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    account = serializers.CharField(source="account.name", read_only=True)
    user = serializers.CharField(source="user.username", read_only=True, allow_null=True)

    class Meta:
        model = AsyncJob
        fields = ["id", "url", "cmd", "status", "status_code", "progress", "resource", "result", "result_code",
                  "account", "user", "created", "started", "completed"]
        read_only_fields = fields

    def _names(self) -> dict[tuple[str, str], str]:
        return self.context.get("resource_names", {})

    @extend_schema_field(serializers.ChoiceField(choices=JOB_STATUS_CHOICES))
    def get_status(self, job: AsyncJob) -> str:
        return JOB_STATUS_NAMES.get(job.status, str(job.status))

    @extend_schema_field(ResourceRefSerializer(allow_null=True, help_text=_("The object the job acts on.")))
    def get_resource(self, job: AsyncJob) -> dict[str, Any] | None:
        if not job.instance_type or not job.instance_id:
            return None
        return render_ref(self.context["request"], self._names(), job.instance_type, job.instance_id)

    @extend_schema_field(JOB_RESULT_SCHEMA)
    def get_result(self, job: AsyncJob) -> dict[str, Any] | None:
        """Null while pending; the produced object on success; {errorcode, errortext} on failure."""
        result = job.result or {}
        if job.status == AsyncJob.Status.PENDING or not result:
            return None
        if "errorcode" in result:
            return {"errorcode": result["errorcode"], "errortext": result.get("errortext", "")}
        if "object" in result:
            return render_ref(self.context["request"], self._names(), result["object"], str(result.get("id", "")))
        return {"text": str(result.get("text", ""))}


def _refs(jobs: Iterable[AsyncJob]) -> list[tuple[str, str]]:
    refs = []
    for job in jobs:
        refs.append((job.instance_type, job.instance_id))
        if isinstance(job.result, dict) and "object" in job.result:
            refs.append((job.result["object"], str(job.result.get("id", ""))))
    return refs


def job_context(request: Request, jobs: Iterable[AsyncJob]) -> dict[str, Any]:
    """Serializer context with the referenced objects resolved for the whole batch (no query per job)."""
    return {"request": request, "resource_names": resolve_names(request.user, _refs(jobs))}


def job_accepted(request: Request, job: AsyncJob) -> Response:
    """The answer to every request that started a job: 202, the job, and its URL in Location."""
    data = JobSerializer(job, context=job_context(request, [job])).data
    return Response(data, status=202, headers={"Location": data["url"]})


class JobFilterSet(FilterSet):
    pending = StrictBooleanFilter(method="filter_pending", help_text=_(
        "true: only jobs that have not finished yet; false: only finished ones."))
    status = django_filters.ChoiceFilter(
        choices=[(JOB_STATUS_NAMES[status.value], status.label) for status in AsyncJob.Status],
        method="filter_status", help_text=_("Only jobs with this status."))
    instance_type = django_filters.CharFilter(help_text=_(
        'Only jobs acting on this type of object, e.g. "virtualmachine".'))
    instance_id = django_filters.UUIDFilter(help_text=_("Only jobs acting on the object with this id."))

    class Meta:
        model = AsyncJob
        fields = []

    def filter_pending(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value:
            return queryset.filter(status=AsyncJob.Status.PENDING)
        return queryset.exclude(status=AsyncJob.Status.PENDING)

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(status=JOB_STATUS_VALUES[value])


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Asynchronous jobs of your account (administrators: of the accounts they manage)."""

    queryset = AsyncJob.objects.none()  # the model, for the schema; rows come from portal.selectors
    serializer_class = JobSerializer
    filterset_class = JobFilterSet
    authz_actions = {"list": "job.list", "retrieve": "job.view"}
    ordering_fields = ["created", "completed"]

    def select(self, caller: User) -> QuerySet[AsyncJob]:
        return job_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> AsyncJob:
        return job_get(caller=caller, job_id=object_id)

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer:
        instance = args[0] if args else kwargs.get("instance")
        jobs = instance if isinstance(instance, list | tuple) else [instance] if instance is not None else []
        kwargs["context"] = {**self.get_serializer_context(), **job_context(self.request, jobs)}
        return self.get_serializer_class()(*args, **kwargs)

    @extend_schema(summary=_("List jobs"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a job"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)
