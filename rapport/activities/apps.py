from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "rapport.activities"
    label = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        from rapport.accounts.demo import DEMO_STEPS
        from rapport.activities import (  # noqa: F401  (each registers itself)
            search,  # the "activity" search provider
            timeline,  # the "activity" timeline source
        )
        from rapport.activities.demo import add_demo_activities

        if add_demo_activities not in DEMO_STEPS:  # after the demo contacts (apps are ready in order)
            DEMO_STEPS.append(add_demo_activities)
