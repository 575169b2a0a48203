"""The deploy wizard of the web UI: zone → template or ISO → compute offering → disk → SSH key pairs and
user data → affinity groups → name → review, then one call of compute.services.vm_deploy.

Unlike the setup wizard (portal.ui.setup_wizard), which creates an object at every step and so keeps their
ids in the session, nothing exists here until the last step. Each page therefore carries the answers of the
other steps as hidden inputs and every POST re-validates the steps before the one shown, against the
selectors, with the caller's current rights: two deploys can be prepared in two browser tabs, Back works,
and an image or offering that vanished meanwhile sends the user to the step where it was chosen. One URL
(compute:vm_deploy) serves every step: `wizard_step` says which step's form was on the page, `wizard_goto`
where to go (next, back, a step's name, or deploy). A refusal of the service changes nothing (it is atomic)
and is shown on the step that caused it: a host without room on the offering step, the rest on the review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from compute import services
from compute.forms_deploy import (
    AccessStepForm,
    AffinityStepForm,
    DetailsStepForm,
    DiskStepForm,
    ImageStepForm,
    OfferingStepForm,
    StepForm,
    ZoneStepForm,
    disk_size_text,
    offering_size_text,
)
from portal.errors import InsufficientCapacity, NotFound, ServiceError
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

STEP_FIELD = "wizard_step"
GOTO_FIELD = "wizard_goto"
SEEN_FIELD = "wizard_seen"
CONTROL_FIELDS = frozenset({"csrfmiddlewaretoken", STEP_FIELD, GOTO_FIELD, SEEN_FIELD})


@dataclass(frozen=True)
class Step:
    key: str
    title: Any
    form: type[StepForm] | None  # None: the review
    intro: Any = ""


STEPS: tuple[Step, ...] = (
    Step("zone", gettext_lazy("Zone"), ZoneStepForm, gettext_lazy(
        "The zone is the datacenter the VM runs in; its disks and networks stay there.")),
    Step("image", gettext_lazy("Image"), ImageStepForm, gettext_lazy(
        "Start from a template (a ready disk image) or install from an ISO (the VM boots from the CD and gets "
        "a blank root disk).")),
    Step("offering", gettext_lazy("Compute offering"), OfferingStepForm, gettext_lazy(
        "How many CPU cores, how fast, and how much memory. A custom offering lets you choose within its "
        "bounds.")),
    Step("disk", gettext_lazy("Disk"), DiskStepForm),
    Step("access", gettext_lazy("Access"), AccessStepForm, gettext_lazy(
        "How you will log in, and what cloud-init does on the first boot. Both are optional.")),
    Step("affinity", gettext_lazy("Affinity"), AffinityStepForm, gettext_lazy(
        "Optional: keep this VM apart from, or together with, other VMs of yours.")),
    Step("details", gettext_lazy("Name"), DetailsStepForm),
    Step("review", gettext_lazy("Review"), None, gettext_lazy(
        "Check your choices, then deploy. Nothing is created before you do.")),
)
STEP_KEYS = tuple(step.key for step in STEPS)
STEP_OF = {step.key: step for step in STEPS}
FORM_STEPS = tuple(step for step in STEPS if step.form is not None)


@dataclass
class Walk:
    """The steps validated so far: their bound forms and the values chosen in them."""

    forms: dict[str, StepForm]
    chosen: dict[str, Any]
    invalid: str | None = None  # the first step whose answers do not hold


def _walk(request: HttpRequest, data: QueryDict, until: str) -> Walk:
    """Bind and validate the steps before `until` (all of them for "review"), stopping at the first invalid."""
    walk = Walk(forms={}, chosen={})
    for step in FORM_STEPS:
        if step.key == until:
            break
        form = step.form(data, caller=request.user, chosen=dict(walk.chosen))
        walk.forms[step.key] = form
        if not form.is_valid():
            walk.invalid = step.key
            break
        walk.chosen.update(form.cleaned_data)
    return walk


def _form_for(request: HttpRequest, step: Step, data: QueryDict | None, chosen: dict[str, Any]) -> StepForm:
    """A step's form: bound to the answers when the user has been on it before, else with its defaults."""
    seen = data is not None and step.key in data.getlist(SEEN_FIELD)
    return step.form(data if seen else None, caller=request.user, chosen=dict(chosen))


def _carried(data: QueryDict | None, shown: forms.Form | None) -> list[tuple[str, str]]:
    """The answers of the steps not on this page, to be posted again as hidden inputs."""
    if data is None:
        return []
    own = set(shown.fields) if shown is not None else set()
    return [(name, value) for name, values in data.lists() if name not in CONTROL_FIELDS and name not in own
            for value in values]


def _render(request: HttpRequest, key: str, form: StepForm | None, data: QueryDict | None,
            chosen: dict[str, Any], error: str = "") -> HttpResponse:
    step = STEP_OF[key]
    seen = list(dict.fromkeys([*(data.getlist(SEEN_FIELD) if data is not None else []), key]))
    index = STEP_KEYS.index(key)
    steps = [{"key": s.key, "title": s.title, "number": number, "current": s.key == key,
              "done": s.key in seen and number - 1 < index}
             for number, s in enumerate(STEPS, start=1)]
    context = {
        "step": step, "form": form, "steps": steps, "seen": seen, "carried": _carried(data, form),
        "chosen": chosen, "error": error, "first": index == 0,
        "previous": STEP_KEYS[index - 1] if index else "",
    }
    if key == "image" and form is not None:
        context["image_tabs"] = _image_tabs(form.groups)
        context["selected"] = form["template"].value() or ""
    if key == "offering" and form is not None:
        context["offerings"] = [(o, offering_size_text(o)) for o in form.fields["service_offering"].queryset]
    if key == "review":
        context["summary"] = _summary(chosen)
    # A refusal answers 200, as the deploy page always has: the page itself is what the user needs next.
    return render(request, f"compute/deploy/{'review' if key == 'review' else 'step'}.html", context)


def _image_tabs(groups: dict[str, Any]) -> list[dict[str, Any]]:
    def group(key: str, title: Any, empty: Any) -> dict[str, Any]:
        return {"key": key, "title": title, "images": list(groups[key]), "empty": empty}

    return [
        {"key": "templates", "title": _("Templates"), "groups": [
            group("featured", _("Featured"), _("No featured templates.")),
            group("mine", _("My templates"), _("You have no templates of your own.")),
            group("shared", _("Shared with me"), _("No other templates are shared with you.")),
        ]},
        {"key": "isos", "title": _("ISOs"), "groups": [
            group("isos", _("Bootable ISOs"), _("No bootable ISO is available in this zone.")),
        ]},
    ]


def _summary(chosen: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """The review's rows: (step to edit, label, value)."""
    template, offering, disk = chosen.get("template"), chosen.get("service_offering"), chosen.get("disk_offering")
    size = offering_size_text(offering) if offering is not None else ""
    if offering is not None and offering.is_customized:
        size = _("%(cpu)s vCPU, %(speed)s MHz, %(memory)s MiB") % {
            "cpu": chosen.get("cpu_number") or offering.cpu_number, "speed": chosen.get("cpu_speed")
            or offering.cpu_speed, "memory": chosen.get("memory") or offering.memory}
    disk_text = "—"
    if disk is not None:
        disk_text = f"{disk.name} ({chosen['size_gb']} GiB)" if chosen.get("size_gb") else \
            f"{disk.name} ({disk_size_text(disk)})"
    rows = [
        ("zone", _("Zone"), chosen["zone"].name),
        ("image", _("ISO") if template.is_iso else _("Template"), template.name),
        ("offering", _("Compute offering"), f"{offering.name} ({size})"),
        ("disk", _("Root disk offering") if template.is_iso else _("Data disk"), disk_text),
    ]
    if not template.is_iso and chosen.get("root_disk_size_gb"):
        rows.append(("disk", _("Root disk size"), f"{chosen['root_disk_size_gb']} GiB"))
    rows += [
        ("access", _("SSH key pairs"), ", ".join(k.name for k in chosen.get("key_pairs") or []) or "—"),
        ("access", _("User data"), _("%(count)s characters") % {"count": len(chosen["user_data"])}
         if chosen.get("user_data") else "—"),
        ("affinity", _("Affinity groups"), ", ".join(g.name for g in chosen.get("affinity_groups") or []) or "—"),
        ("details", _("Name"), chosen.get("name") or _("generated")),
        ("details", _("Display name"), chosen.get("display_name") or "—"),
        ("details", _("Group"), chosen.get("group") or "—"),
        ("details", _("Start now"), _("Yes") if chosen.get("start_vm") else _("No")),
    ]
    return rows


def _deploy(request: HttpRequest, chosen: dict[str, Any]) -> Any:
    return services.vm_deploy(
        caller=request.user, zone=chosen["zone"], service_offering=chosen["service_offering"],
        template=chosen["template"], name=chosen["name"] or None, display_name=chosen["display_name"],
        start_vm=chosen["start_vm"], group=chosen["group"],
        cpu_number=chosen["cpu_number"], cpu_speed=chosen["cpu_speed"], memory=chosen["memory"],
        disk_offering=chosen["disk_offering"], size_gb=chosen["size_gb"],
        root_disk_size_gb=chosen.get("root_disk_size_gb"),
        key_pairs=[pair.name for pair in chosen["key_pairs"]], user_data=chosen["user_data"],
        affinity_groups=list(chosen["affinity_groups"]),
    )


# Which step a refusal of the deploy itself belongs to (the rest: the review, where the deploy was asked).
REFUSAL_STEP: dict[type[ServiceError], str] = {InsufficientCapacity: "offering"}


def _refused(request: HttpRequest, data: QueryDict, walk: Walk, exc: ServiceError) -> HttpResponse:
    key = next((step for kind, step in REFUSAL_STEP.items() if isinstance(exc, kind)), "review")
    if key == "review":
        return _render(request, "review", None, data, walk.chosen, error=exc.message)
    form = walk.forms[key]
    form.add_error(None, exc.message)
    return _render(request, key, form, data, walk.chosen)


def _invalid(request: HttpRequest, data: QueryDict, walk: Walk) -> HttpResponse:
    """The first step whose answers do not hold, with its errors (walk.chosen is what came before it)."""
    return _render(request, walk.invalid, walk.forms[walk.invalid], data, walk.chosen)


@require_http_methods(["GET", "HEAD", "POST"])
@requires("vm.deploy")
@http_errors
def vm_deploy(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, "zone", ZoneStepForm(caller=request.user, chosen={}), None, {})
    data = request.POST
    current = data.get(STEP_FIELD) if data.get(STEP_FIELD) in STEP_KEYS else STEP_KEYS[0]
    goto = data.get(GOTO_FIELD, "next")
    if goto == "deploy":
        walk = _walk(request, data, "review")
        if walk.invalid:
            return _invalid(request, data, walk)
        try:
            vm, _job = _deploy(request, walk.chosen)
        except NotFound:
            raise
        except ServiceError as exc:
            return _refused(request, data, walk, exc)
        messages.success(request, _("Deploying VM %(name)s.") % {"name": vm.name})
        return redirect("compute:vm_detail", vm_id=vm.uuid)
    if goto == "back":
        target = STEP_KEYS[max(STEP_KEYS.index(current) - 1, 0)]
    elif goto in STEP_KEYS and STEP_KEYS.index(goto) <= STEP_KEYS.index(current):
        target = goto  # back to an earlier step (the review's Edit buttons)
    else:
        walk = _walk(request, data, STEP_KEYS[STEP_KEYS.index(current) + 1] if current != "review" else "review")
        if walk.invalid:
            return _invalid(request, data, walk)
        target = STEP_KEYS[min(STEP_KEYS.index(current) + 1, len(STEP_KEYS) - 1)]
        if target == "review":
            return _render(request, "review", None, data, walk.chosen)
        return _render(request, target, _form_for(request, STEP_OF[target], data, walk.chosen), data, walk.chosen)
    walk = _walk(request, data, target)
    if walk.invalid:
        return _invalid(request, data, walk)
    if target == "review":
        return _render(request, "review", None, data, walk.chosen)
    return _render(request, target, _form_for(request, STEP_OF[target], data, walk.chosen), data, walk.chosen)
