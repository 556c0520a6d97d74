from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "rapport.contacts"
    label = "contacts"
    verbose_name = "Contacts and companies"

    def ready(self) -> None:
        from rapport.accounts.demo import DEMO_STEPS
        from rapport.contacts import (  # noqa: F401  (each registers itself)
            search,  # the search index hooks and the palette provider
            tasks,  # the trash purge
            timeline,  # the timeline's event source
        )
        from rapport.contacts.demo import add_demo_contacts
        from rapport.contacts.models import Company, Contact
        from rapport.core.customfields.definitions import register_entity

        register_entity("contact", Contact, "Contacts")
        register_entity("company", Company, "Companies")

        if add_demo_contacts not in DEMO_STEPS:
            DEMO_STEPS.append(add_demo_contacts)
