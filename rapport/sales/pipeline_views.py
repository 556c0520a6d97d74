"""Settings → Pipelines: the workspace's pipelines and their stages; add, rename, reorder and delete
them (admins: the manage-settings permission).

Thin pages over `pipeline_services` and `pipeline_selectors`: the forms shape the input, the
services decide what is valid, and their errors land on the form's fields. Stages move up and
down with buttons (plain forms, so the keyboard and a page without scripts work); a stage that
holds deals is deleted on a page of its own that asks where the deals go.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.accounts.decorators import perm_required
from rapport.accounts.forms import ServiceErrorsMixin
from rapport.accounts.roles import Perm
from rapport.core.errors import ApplicationError, NotFound, StaleVersion
from rapport.core.principal import Principal
from rapport.sales import pipeline_selectors as selectors
from rapport.sales import pipeline_services as services
from rapport.sales.models import Deal, Pipeline, Stage, StageKind

STALE = "Someone else changed this pipeline since you opened the page; here it is as it is now."
SECTION = {"section": "pipelines"}


def _actor(request: HttpRequest) -> Principal:
    return request.principal  # type: ignore[attr-defined]


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "web/not_found.html", status=404)


class _Form(ServiceErrorsMixin, forms.Form):
    def add_service_error(self, exc: ApplicationError) -> None:
        if isinstance(exc, StaleVersion):
            self.add_error(None, STALE)
            return
        super().add_service_error(exc)


class PipelineForm(_Form):
    name = forms.CharField(max_length=100, help_text="Such as “New business” or “Renewals”.")
    position = forms.IntegerField(
        min_value=0, max_value=10000, required=False, help_text="Pipelines are listed in increasing position."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.cleaned_data["name"]}
        if self.cleaned_data["position"] is not None:
            data["position"] = self.cleaned_data["position"]
        return data


class StageForm(_Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(
        choices=StageKind.choices,
        initial=StageKind.OPEN,
        help_text="A deal moved into a won or lost stage is closed.",
    )
    probability = forms.IntegerField(
        label="Win probability (%)",
        min_value=0,
        max_value=100,
        required=False,
        help_text="Weighs the deals of the stage in the forecast. Empty: 100 for won, 0 otherwise.",
    )
    rotting_days = forms.IntegerField(
        label="Rotting after (days)",
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Open stages: a deal that stays longer is marked as rotting. Empty: never.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def to_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if data["probability"] is None:
            del data["probability"]
        if data["kind"] != StageKind.OPEN:
            data["rotting_days"] = None  # only open stages rot
        return data

    @staticmethod
    def initial_for(stage: Stage) -> dict[str, Any]:
        return {
            "name": stage.name,
            "kind": stage.kind,
            "probability": stage.probability,
            "rotting_days": stage.rotting_days,
            "version": stage.version,
        }


def _stage_page(request: HttpRequest, stage_id: int) -> Stage | None:
    try:
        return selectors.stage_get(actor=_actor(request), stage_id=stage_id)
    except NotFound:
        return None


def _pipeline_page(request: HttpRequest, pipeline_id: int) -> Pipeline | None:
    try:
        pipeline = selectors.pipeline_get(actor=_actor(request), pipeline_id=pipeline_id)
    except NotFound:
        return None
    return selectors.with_deal_counts(actor=_actor(request), pipelines=[pipeline])[0]


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def pipelines_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = PipelineForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                pipeline = services.pipeline_create(actor=actor, data=form.to_data())
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The pipeline “{pipeline.name}” was added with the usual stages.")
                return redirect("pipelines:edit", pipeline.pk)
        else:
            status = 400
    pipelines = selectors.with_deal_counts(
        actor=actor, pipelines=selectors.pipeline_list(actor=actor).order_by(*selectors.ORDERING)
    )
    return render(
        request, "sales/settings/pipelines.html", {"pipelines": pipelines, "form": form, **SECTION}, status=status
    )


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def pipeline_edit_view(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    actor = _actor(request)
    pipeline = _pipeline_page(request, pipeline_id)
    if pipeline is None:
        return _not_found(request)
    initial = {"name": pipeline.name, "position": pipeline.position, "version": pipeline.version}
    form = PipelineForm(request.POST or None, initial=initial, prefix="pipeline")
    stage_form = StageForm(prefix="stage")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.pipeline_update(
                    actor=actor, pipeline=pipeline, data=form.to_data(), expected_version=form.cleaned_data["version"]
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The pipeline “{saved.name}” was saved.")
                return redirect("pipelines:edit", pipeline.pk)
        else:
            status = 400
    return _render_pipeline(request, pipeline, form, stage_form, status)


def _render_pipeline(
    request: HttpRequest, pipeline: Pipeline, form: PipelineForm, stage_form: StageForm, status: int
) -> HttpResponse:
    stages = list(pipeline.stages.all())
    return render(
        request,
        "sales/settings/pipeline.html",
        {"pipeline": pipeline, "stages": stages, "form": form, "stage_form": stage_form, **SECTION},
        status=status,
    )


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def stage_create_view(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    actor = _actor(request)
    pipeline = _pipeline_page(request, pipeline_id)
    if pipeline is None:
        return _not_found(request)
    if request.method != "POST":
        return redirect("pipelines:edit", pipeline.pk)
    stage_form = StageForm(request.POST, prefix="stage")
    status = 400
    if stage_form.is_valid():
        try:
            stage = services.stage_create(actor=actor, pipeline=pipeline, data=stage_form.to_data())
        except ApplicationError as exc:
            stage_form.add_service_error(exc)
            status = exc.status
        else:
            messages.success(request, f"The stage “{stage.name}” was added.")
            return redirect(reverse("pipelines:edit", args=[pipeline.pk]) + "#stages")
    initial = {"name": pipeline.name, "position": pipeline.position, "version": pipeline.version}
    return _render_pipeline(request, pipeline, PipelineForm(initial=initial, prefix="pipeline"), stage_form, status)


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
@require_POST
def stage_move_view(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """Move one stage a place up or down (POST stage, direction, version of the pipeline)."""
    actor = _actor(request)
    pipeline = _pipeline_page(request, pipeline_id)
    if pipeline is None:
        return _not_found(request)
    order = [stage.pk for stage in pipeline.stages.all()]
    stage_id, direction = request.POST.get("stage", ""), request.POST.get("direction")
    version = request.POST.get("version", "")
    index = order.index(int(stage_id)) if stage_id.isdigit() and int(stage_id) in order else None
    step = {"up": -1, "down": 1}.get(direction or "")
    if index is None or step is None or not version.isdigit() or not 0 <= index + step < len(order):
        messages.error(request, "That stage cannot move there.")
        return redirect(reverse("pipelines:edit", args=[pipeline.pk]) + "#stages")
    order[index], order[index + step] = order[index + step], order[index]
    try:
        services.stages_reorder(actor=actor, pipeline=pipeline, stage_ids=order, expected_version=int(version))
    except StaleVersion:
        messages.error(request, STALE)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        name = next(s.name for s in pipeline.stages.all() if s.pk == order[index + step])
        messages.success(request, f"“{name}” moved {direction}.")
    return redirect(reverse("pipelines:edit", args=[pipeline.pk]) + f"#stage-{stage_id}")


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def stage_edit_view(request: HttpRequest, stage_id: int) -> HttpResponse:
    actor = _actor(request)
    stage = _stage_page(request, stage_id)
    if stage is None:
        return _not_found(request)
    form = StageForm(request.POST or None, initial=StageForm.initial_for(stage))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.stage_update(
                    actor=actor, stage=stage, data=form.to_data(), expected_version=form.cleaned_data["version"]
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
                status = exc.status
            else:
                messages.success(request, f"The stage “{saved.name}” was saved.")
                return redirect(reverse("pipelines:edit", args=[stage.pipeline_id]) + f"#stage-{stage.pk}")
        else:
            status = 400
    return render(request, "sales/settings/stage_edit.html", {"stage": stage, "form": form, **SECTION}, status=status)


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def stage_delete_view(request: HttpRequest, stage_id: int) -> HttpResponse:
    actor = _actor(request)
    stage = _stage_page(request, stage_id)
    if stage is None:
        return _not_found(request)
    targets = list(services.stage_move_targets(stage))
    held = services.stage_deals_held(stage)
    error, status = "", 200
    if request.method == "POST":
        move_to = request.POST.get("move_to", "")
        try:
            moved = services.stage_delete(
                actor=actor, stage=stage, move_to=int(move_to) if move_to.isdigit() else (move_to or None)
            )
        except ApplicationError as exc:
            error, status = exc.fields.get("move_to", exc.message), exc.status
        else:
            note = f"; {moved} deal{'s' if moved != 1 else ''} moved" if moved else ""
            messages.success(request, f"The stage “{stage.name}” was deleted{note}.")
            return redirect(reverse("pipelines:edit", args=[stage.pipeline_id]) + "#stages")
    return render(
        request,
        "sales/settings/stage_delete.html",
        {"stage": stage, "targets": targets, "held": held, "error": error, **SECTION},
        status=status,
    )


@login_required
@perm_required(Perm.MANAGE_SETTINGS)
def pipeline_delete_view(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    actor = _actor(request)
    pipeline = _pipeline_page(request, pipeline_id)
    if pipeline is None:
        return _not_found(request)
    error, status = "", 200
    if request.method == "POST":
        try:
            services.pipeline_delete(actor=actor, pipeline=pipeline)
        except ApplicationError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, f"The pipeline “{pipeline.name}” was deleted.")
            return redirect("pipelines:list")
    live = Deal.objects.filter(pipeline=pipeline, deleted_at__isnull=True).count()
    return render(
        request,
        "sales/settings/pipeline_delete.html",
        {"pipeline": pipeline, "live": live, "error": error, **SECTION},
        status=status,
    )
