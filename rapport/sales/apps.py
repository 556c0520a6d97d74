from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "rapport.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from rapport.accounts.demo import DEMO_STEPS
        from rapport.core.customfields.definitions import register_entity
        from rapport.sales import (
            deal_timeline,  # noqa: F401  (registers the "deal" timeline source and facts)
            order_timeline,  # noqa: F401  (registers the "order" timeline source and facts)
            quote_timeline,  # noqa: F401  (registers the "quote" timeline source)
        )
        from rapport.sales.demo import add_demo_sales
        from rapport.sales.models import Deal

        register_entity("deal", Deal, "Deals")

        if add_demo_sales not in DEMO_STEPS:  # after the demo contacts (apps are ready in order)
            DEMO_STEPS.append(add_demo_sales)
