"""/healthz: database and worker status as JSON, for load balancers and monitoring."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from rapport.core.models import WorkerHeartbeat
from rapport.core.tasks import HEARTBEAT_NAME


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; the worker's state is reported but does not fail the check,
    so a load balancer keeps serving pages while a worker restarts."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        beat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": {"ok": False}, "worker": {"ok": False}}, status=503)
    worker: dict[str, object] = {"ok": False, "last_seen": None, "age_seconds": None}
    if beat is not None:
        age = (timezone.now() - beat.last_seen).total_seconds()
        worker = {
            # A beat from the future (clock skew between machines beyond a minute) is not trusted.
            "ok": -60 <= age <= settings.WORKER_HEARTBEAT_STALE_SECONDS,
            "last_seen": beat.last_seen.isoformat(),
            "age_seconds": round(age, 1),
        }
    return JsonResponse(
        {
            "status": "ok" if worker["ok"] else "degraded",
            "database": {"ok": True, "vendor": connection.vendor},
            "worker": worker,
        }
    )
