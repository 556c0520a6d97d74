"""The "Email and phone" section's form: every email and phone of a contact as a row, plus blank rows.

Plain inputs with indexed names (no formset, no script): `email_<row>`, `email_kind_<row>`,
`email_remove_<row>`, one `email_primary` radio group per list, and a hidden `email_rows` count;
the same for phones. It builds the `emails` / `phones` lists `services.contact_update` takes and
puts the service's errors ("emails.2.email") back on the rows they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from rapport.contacts import choices
from rapport.contacts.cleaning import MAX_EMAILS, MAX_PHONES
from rapport.contacts.forms import RecordForm, VersionMixin
from rapport.contacts.models import Contact
from rapport.core.normalize import phone_digits


@dataclass(frozen=True)
class ChannelGroup:
    """One list of the "Email and phone" section: its input names and what the service calls it."""

    name: str  # the form's field names: <name>_<row>, <name>_kind_<row>, <name>_remove_<row>, <name>_primary
    items: str  # the service's key: "emails" / "phones"
    value: str  # the key of an item's address or number
    label: str
    legend: str
    plural: str
    placeholder: str
    kinds: Any
    default_kind: str
    max_items: int
    max_length: int
    duplicate: str

    def same(self, text: str) -> str:
        """What two entries share when they are the same address or number, as typed."""
        if self.name == "email":
            return text.casefold()
        return ("+" if text.startswith("+") else "") + phone_digits(text)


EMAIL_GROUP = ChannelGroup(
    name="email",
    items="emails",
    value="email",
    label="Email",
    legend="Emails",
    plural="emails",
    placeholder="Add an email address",
    kinds=choices.EMAIL_KINDS,
    default_kind="work",
    max_items=MAX_EMAILS,
    max_length=254,
    duplicate="This address is already in the list.",
)
PHONE_GROUP = ChannelGroup(
    name="phone",
    items="phones",
    value="number",
    label="Phone",
    legend="Phones",
    plural="phone numbers",
    placeholder="Add a phone number",
    kinds=choices.PHONE_KINDS,
    default_kind="mobile",
    max_items=MAX_PHONES,
    max_length=40,
    duplicate="This number is already in the list.",
)
# Blank rows offered for new entries, and the most rows a posted form may declare (a page shows at
# most max_items + CHANNEL_EXTRA_ROWS).
CHANNEL_EXTRA_ROWS = 2
CHANNEL_ROW_LIMIT = 40


@dataclass(frozen=True)
class ChannelRow:
    """One row of a channel group as the template shows it."""

    index: int
    value: forms.BoundField
    kind: forms.BoundField
    remove: forms.BoundField
    primary: Any  # the row's radio button (a BoundWidget of the group's <name>_primary)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def filled(self) -> bool:
        return bool(str(self.value.value() or "").strip())


class ContactChannelsForm(VersionMixin, RecordForm):
    """Every email and phone of a contact as rows (value, kind, primary radio, remove) plus blank ones.

    A hidden `<group>_rows` says how many rows the page showed (required: a post without it is
    refused rather than read as "no emails"). Blank and removed rows are left out; the rest go to
    `services.contact_update` in their order, and a service error on item N ("emails.2.email") is put
    back on the row it came from. Without a primary among the kept rows the first one is primary.
    """

    GROUPS = (EMAIL_GROUP, PHONE_GROUP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_rows: dict[str, list[int]] = {}
        for group in self.GROUPS:
            self._add_group(group)

    def _row_count(self, group: ChannelGroup) -> int:
        try:
            return max(0, min(int(self._current(f"{group.name}_rows") or 0), CHANNEL_ROW_LIMIT))
        except (TypeError, ValueError):
            return 0

    def _current(self, name: str) -> str:
        """The text a row's input shows: the posted one, or the initial one."""
        value = self.data.get(self.add_prefix(name)) if self.is_bound else self.initial.get(name)
        return str(value or "").strip()

    def _add_group(self, group: ChannelGroup) -> None:
        rows = self._row_count(group)
        self.fields[f"{group.name}_rows"] = forms.IntegerField(
            widget=forms.HiddenInput, min_value=0, max_value=CHANNEL_ROW_LIMIT
        )
        widget: forms.Widget = (
            forms.EmailInput(attrs={"autocomplete": "off"})
            if group.name == "email"
            else forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
        )
        for i in range(rows):
            self.fields[f"{group.name}_{i}"] = field = forms.CharField(
                label=f"{group.label} {i + 1}", max_length=group.max_length, required=False, widget=widget
            )
            if not self._current(f"{group.name}_{i}"):
                field.widget.attrs["placeholder"] = group.placeholder
            self.fields[f"{group.name}_kind_{i}"] = forms.ChoiceField(
                label=f"Kind of {group.label.lower()} {i + 1}", choices=group.kinds.choices, initial=group.default_kind
            )
            self.fields[f"{group.name}_remove_{i}"] = forms.BooleanField(
                label=f"Remove {group.label.lower()} {i + 1}", required=False
            )
        self.fields[f"{group.name}_primary"] = forms.ChoiceField(
            label=f"Primary {group.label.lower()}",
            choices=[(str(i), "Primary") for i in range(rows)],
            required=False,
            widget=forms.RadioSelect,
        )

    @staticmethod
    def initial_for(contact: Contact) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for group, entries in (
            (EMAIL_GROUP, [(e.email, e.kind, e.is_primary) for e in contact.emails.all()]),
            (PHONE_GROUP, [(p.number, p.kind, p.is_primary) for p in contact.phones.all()]),
        ):
            rows = max(len(entries), min(len(entries) + CHANNEL_EXTRA_ROWS, group.max_items))
            initial[f"{group.name}_rows"] = min(rows, CHANNEL_ROW_LIMIT)
            for i, (value, kind, primary) in enumerate(entries[:CHANNEL_ROW_LIMIT]):
                initial[f"{group.name}_{i}"] = value
                initial[f"{group.name}_kind_{i}"] = kind
                if primary:
                    initial[f"{group.name}_primary"] = str(i)
        return initial

    def rows(self, group: ChannelGroup) -> list[ChannelRow]:
        primary = self[f"{group.name}_primary"].subwidgets
        return [
            ChannelRow(
                index=i,
                value=self[f"{group.name}_{i}"],
                kind=self[f"{group.name}_kind_{i}"],
                remove=self[f"{group.name}_remove_{i}"],
                primary=primary[i],
            )
            for i in range(len(primary))
        ]

    @property
    def groups(self) -> list[dict[str, Any]]:
        """What the template shows of each group: its rows, its own errors, its names."""
        shown = []
        for group in self.GROUPS:
            rows = self.rows(group)
            shown.append(
                {
                    "group": group,
                    "rows": rows,
                    "full": sum(row.filled for row in rows) >= group.max_items,
                    "count": self[f"{group.name}_rows"],
                    "errors": [*self[f"{group.name}_rows"].errors, *self[f"{group.name}_primary"].errors],
                }
            )
        return shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for group in self.GROUPS:
            self._clean_group(group, cleaned)
        return cleaned

    def _clean_group(self, group: ChannelGroup, cleaned: dict[str, Any]) -> None:
        if f"{group.name}_rows" not in cleaned:
            return  # the row count itself is missing or invalid: its error is already there
        primary = cleaned.get(f"{group.name}_primary") or ""
        kept: list[int] = []
        seen: set[str] = set()
        for i in range(self._row_count(group)):
            value = (cleaned.get(f"{group.name}_{i}") or "").strip()
            if cleaned.get(f"{group.name}_remove_{i}") or not value:
                continue
            key = group.same(value)
            if key in seen:
                self.add_error(f"{group.name}_{i}", group.duplicate)
                continue
            seen.add(key)
            kept.append(i)
        if len(kept) > group.max_items:
            self.add_error(
                f"{group.name}_rows",
                f"A contact has at most {group.max_items} {group.plural}: remove one before adding another.",
            )
        self.sent_rows[group.items] = kept
        cleaned[group.items] = [
            {
                group.value: cleaned[f"{group.name}_{i}"].strip(),
                "kind": cleaned.get(f"{group.name}_kind_{i}") or group.default_kind,
                "is_primary": str(i) == primary,
            }
            for i in kept
        ]

    def to_data(self) -> dict[str, Any]:
        """The kept rows of both lists, in their order: `emails` and `phones` for services.contact_update."""
        return {group.items: self.cleaned_data[group.items] for group in self.GROUPS}

    def error_field(self, service_name: str) -> str | None:
        """Place "emails.2.email" on the row the service's item 2 came from; "emails" on the group."""
        items, _, rest = service_name.partition(".")
        group = next((g for g in self.GROUPS if g.items == items), None)
        if group is None:
            return None
        if not rest:
            return f"{group.name}_rows"
        position, _, part = rest.partition(".")
        rows = self.sent_rows.get(items, [])
        if not position.isdigit() or int(position) >= len(rows):
            return f"{group.name}_rows"
        row = rows[int(position)]
        return f"{group.name}_kind_{row}" if part == "kind" else f"{group.name}_{row}"
