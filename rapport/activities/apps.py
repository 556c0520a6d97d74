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
        from rapport.activities.demo_agenda import add_demo_agenda

        for step in (add_demo_activities, add_demo_agenda):
            if step not in DEMO_STEPS:  # after the demo contacts (apps are ready in order)
                DEMO_STEPS.append(step)
