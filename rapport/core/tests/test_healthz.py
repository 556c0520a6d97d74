"""/healthz: database and worker status as JSON; never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.utils import timezone

from rapport.core.models import WorkerHeartbeat
from rapport.core.tasks import HEARTBEAT_NAME, beat, heartbeat


def _health(client: Any) -> tuple[int, dict[str, Any]]:
    resp = client.get("/healthz")
    assert resp["Content-Type"].startswith("application/json")
    assert "no-cache" in resp["Cache-Control"] or "max-age=0" in resp["Cache-Control"]
    return resp.status_code, resp.json()


def test_without_a_heartbeat_the_database_is_ok_and_the_worker_is_not(client, db):
    status, body = _health(client)
    assert status == 200
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] in {"sqlite", "postgresql"}
    assert body["worker"] == {"ok": False, "last_seen": None, "age_seconds": None}
    assert body["status"] == "degraded"


def test_after_a_heartbeat_the_worker_is_ok(client, db):
    beat()
    status, body = _health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert body["worker"]["ok"] is True
    assert 0 <= body["worker"]["age_seconds"] < 5
    last_seen = WorkerHeartbeat.objects.get(name=HEARTBEAT_NAME).last_seen
    assert body["worker"]["last_seen"] == last_seen.isoformat()


def test_the_periodic_heartbeat_task_beats(client, db):
    heartbeat.call_local()
    assert WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).count() == 1
    assert _health(client)[1]["worker"]["ok"] is True


def test_repeated_heartbeats_keep_one_row_and_move_it_forward(db):
    beat()
    first = WorkerHeartbeat.objects.get(name=HEARTBEAT_NAME).last_seen
    WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).update(last_seen=first - timedelta(minutes=10))
    beat()
    assert WorkerHeartbeat.objects.count() == 1
    assert WorkerHeartbeat.objects.get(name=HEARTBEAT_NAME).last_seen >= first


def test_a_heartbeat_older_than_the_threshold_is_stale(client, db, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 120
    WorkerHeartbeat.objects.create(name=HEARTBEAT_NAME, last_seen=timezone.now() - timedelta(seconds=130))
    status, body = _health(client)
    assert status == 200  # a worker restarting must not take the site out of the load balancer
    assert body["status"] == "degraded"
    assert body["worker"]["ok"] is False
    assert body["worker"]["age_seconds"] >= 130


def test_a_heartbeat_just_inside_the_threshold_is_fresh(client, db, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 120
    WorkerHeartbeat.objects.create(name=HEARTBEAT_NAME, last_seen=timezone.now() - timedelta(seconds=110))
    status, body = _health(client)
    assert status == 200
    assert body["worker"]["ok"] is True
    assert 110 <= body["worker"]["age_seconds"] < 120


def test_the_default_threshold_is_a_few_missed_minutes(client, db, settings):
    assert 60 < settings.WORKER_HEARTBEAT_STALE_SECONDS <= 600
    stale = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS + 1)
    WorkerHeartbeat.objects.create(name=HEARTBEAT_NAME, last_seen=stale)
    assert _health(client)[1]["worker"]["ok"] is False


def test_a_heartbeat_from_the_future_does_not_break_the_check(client, db):
    WorkerHeartbeat.objects.create(name=HEARTBEAT_NAME, last_seen=timezone.now() + timedelta(minutes=5))
    status, body = _health(client)
    assert status == 200
    assert body["database"]["ok"] is True  # clocks of other machines may run ahead: not an error


def test_a_database_error_answers_503_json_not_500(client, db, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("database is down")

    monkeypatch.setattr(WorkerHeartbeat.objects, "filter", broken)
    status, body = _health(client)
    assert status == 503
    assert body["status"] == "error"
    assert body["database"]["ok"] is False
    assert body["worker"]["ok"] is False


def test_healthz_needs_no_login_and_sets_no_session(client, db):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert "sessionid" not in resp.cookies


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(client, db, method):
    resp = getattr(client, method)("/healthz")
    assert resp.status_code == 405
    assert not WorkerHeartbeat.objects.exists()


def test_a_heartbeat_far_in_the_future_does_not_count_as_a_live_worker(client, db):
    WorkerHeartbeat.objects.create(name=HEARTBEAT_NAME, last_seen=timezone.now() + timedelta(minutes=5))
    assert _health(client)[1]["worker"]["ok"] is False


def test_a_heartbeat_a_few_seconds_ahead_still_counts(client, db):
    WorkerHeartbeat.objects.create(name=HEARTBEAT_NAME, last_seen=timezone.now() + timedelta(seconds=20))
    assert _health(client)[1]["worker"]["ok"] is True
