from django.contrib import admin

from rapport.core.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: events are append-only."""

    list_display = ["created_at", "org", "actor", "verb", "subject_type", "subject_id"]
    list_filter = ["verb", "subject_type"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def,unused-ignore]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def,unused-ignore]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def,unused-ignore]
        return False
