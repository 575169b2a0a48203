"""REST: GET /api/v1/virtual-machines/{id}/metrics/?period=1h|1d|1w — a VM's usage over a period.

The points are the period's resolution (1h: the raw samples, 1d: 5-minute averages, 1w: hourly averages),
oldest first; rates are per second (CPU as a share of the VM's vCPUs), memory in KiB. Not paginated: a
period holds a bounded number of points by construction (compute.selectors_metrics).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compute.selectors import vm_get
from compute.selectors_metrics import PERIODS, vm_metrics_series


class MetricPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(read_only=True)
    cpu_percent = serializers.FloatField(read_only=True, help_text=_("Share of the VM's vCPUs in use, 0-100."))
    memory_used_kib = serializers.IntegerField(read_only=True)
    memory_total_kib = serializers.IntegerField(read_only=True)
    disk_read_bps = serializers.FloatField(read_only=True, help_text=_("Bytes read per second."))
    disk_write_bps = serializers.FloatField(read_only=True, help_text=_("Bytes written per second."))
    disk_read_iops = serializers.FloatField(read_only=True)
    disk_write_iops = serializers.FloatField(read_only=True)
    net_rx_bps = serializers.FloatField(read_only=True, help_text=_("Bytes received per second."))
    net_tx_bps = serializers.FloatField(read_only=True, help_text=_("Bytes sent per second."))


class MetricsSeriesSerializer(serializers.Serializer):
    virtual_machine = serializers.UUIDField(source="vm.uuid", read_only=True)
    period = serializers.CharField(source="period.name", read_only=True)
    resolution = serializers.IntegerField(read_only=True, allow_null=True,
                                          help_text=_("Seconds each point covers (null: no points)."))
    start = serializers.DateTimeField(read_only=True)
    end = serializers.DateTimeField(read_only=True)
    points = MetricPointSerializer(many=True, read_only=True)


class VmMetricsView(APIView):
    """Usage of one virtual machine over a period."""

    authz_actions = {"get": "vm.metrics"}

    @extend_schema(
        summary=_("Metrics of a virtual machine"),
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description=_("Id of the virtual machine.")),
            OpenApiParameter("period", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=list(PERIODS),
                             description=_("1h (raw samples, the default), 1d (5-minute averages) or 1w "
                                           "(hourly averages).")),
        ],
        responses={200: MetricsSeriesSerializer},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        vm = vm_get(caller=request.user, vm_id=str(kwargs["id"]))
        series = vm_metrics_series(caller=request.user, vm=vm, period=request.query_params.get("period"))
        return Response(MetricsSeriesSerializer(series).data)


# Mounted by portal.rest.urls next to the router's routes.
urlpatterns = [
    path("virtual-machines/<str:id>/metrics/", VmMetricsView.as_view(), name="virtual-machine-metrics"),
]
