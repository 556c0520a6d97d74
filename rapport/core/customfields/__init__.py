"""Custom fields: definitions per entity (admins), typed values in each record's `custom` JSON."""
