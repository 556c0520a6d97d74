"""Emails on their way out can be recovered, and a failed one notifies its author with a kind of its own.

- `Activity.send_attempt_at`: while queued, when the next attempt is due; while sending, when the
  running attempt claimed it. Emails already queued or sending get the time of this migration, so
  the recovery task (rapport.integrations.sending.emails_recover) treats them from now on, after its
  usual delays, and never fails an attempt that was running while the migration ran.
- The `activity_outbox` index (queued emails) now orders them by that time, and `activity_sending`
  does the same for the emails being sent: both are partial, so they hold the in-flight emails only.
- `NotificationKind.EMAIL_FAILED` ("email_failed"): choices only, no change in the database.
"""

from typing import Any

from django.db import migrations, models
from django.utils import timezone


def stamp_in_flight(apps: Any, schema_editor: Any) -> None:
    Activity = apps.get_model("activities", "Activity")
    Activity.objects.filter(send_status__in=["queued", "sending"], send_attempt_at__isnull=True).update(
        send_attempt_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0006_activity_search"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="activity",
            name="activity_outbox",
        ),
        migrations.AddField(
            model_name="activity",
            name="send_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(stamp_in_flight, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("assigned", "Assigned"),
                    ("mentioned", "Mentioned"),
                    ("reminder", "Reminder"),
                    ("email_failed", "Email not sent"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("send_status", "queued")), fields=["send_attempt_at"], name="activity_outbox"
            ),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("send_status", "sending")), fields=["send_attempt_at"], name="activity_sending"
            ),
        ),
    ]
