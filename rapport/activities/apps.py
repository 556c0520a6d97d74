from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "rapport.activities"
    label = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        from rapport.activities import timeline  # noqa: F401  (registers the "activity" timeline source)
