from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "rapport.service"
    label = "service"
    verbose_name = "Customer service"

    def ready(self) -> None:
        from rapport.core.customfields.definitions import register_entity
        from rapport.service import ticket_search, ticket_timeline  # noqa: F401  (search provider; timeline + facts)
        from rapport.service.models import Ticket

        register_entity("ticket", Ticket, "Tickets")

        # Email-to-ticket: support mailboxes' mail is handed to the service desk (rapport.service.email_in);
        # the reply, survey and acknowledgement tasks register with Huey on import.
        from rapport.integrations.mail_handlers import register_message_handler
        from rapport.service import csat, ticket_mail, webform  # noqa: F401  (Huey tasks)
        from rapport.service.email_in import support_handler_for

        register_message_handler(support_handler_for)

        from rapport.accounts.demo import DEMO_STEPS
        from rapport.service.demo import add_demo_service

        if add_demo_service not in DEMO_STEPS:  # after the demo contacts and sales (apps are ready in order)
            DEMO_STEPS.append(add_demo_service)
