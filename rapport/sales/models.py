"""Sales: pipelines and their stages, deals with their stage history, products, competitors,
exchange rates and quotas, quotes and orders.

Money is a Decimal with its own ISO 4217 currency on every amount; reports convert to the
workspace's base currency (`Organization.base_currency`) with the dated `ExchangeRate`s.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from rapport.core.models import OrgScopedModel, OwnedModel

ALIVE = Q(deleted_at__isnull=True)


def amount_field(**kwargs: object) -> models.DecimalField[object, object]:
    """Money: 18 digits, 2 after the point (the currency is its own column)."""
    return models.DecimalField(max_digits=18, decimal_places=2, **kwargs)  # type: ignore[arg-type]


class Pipeline(OrgScopedModel):
    """A sales process (new business, renewals …) with its ordered stages."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(F("org"), Lower("name"), name="pipeline_unique_name", condition=ALIVE),
        ]

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Stage(OrgScopedModel):
    """One step of a pipeline: its place, the chance a deal in it is won, and when a deal that sat
    in it too long "rots"."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(default=0, help_text="Win probability in percent (0 to 100)")
    kind = models.CharField(max_length=10, choices=StageKind.choices, default=StageKind.OPEN)
    rotting_days = models.PositiveIntegerField(null=True, blank=True, help_text="Days in the stage before a deal rots")

    class Meta:
        constraints = [
            models.UniqueConstraint(F("pipeline"), Lower("name"), name="stage_unique_name"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_percent"),
        ]
        indexes = [models.Index(fields=["pipeline", "position"], name="stage_order")]

    def __str__(self) -> str:
        return self.name


class Competitor(OrgScopedModel):
    name = models.CharField(max_length=150)
    website = models.CharField(max_length=300, blank=True, default="")
    strengths = models.TextField(blank=True, default="")
    weaknesses = models.TextField(blank=True, default="")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(F("org"), Lower("name"), name="competitor_unique_name", condition=ALIVE),
        ]

    def __str__(self) -> str:
        return self.name


class Product(OrgScopedModel):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="")
    unit_price = amount_field()
    currency = models.CharField(max_length=3)
    active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "sku"], name="product_unique_sku", condition=ALIVE),
        ]
        indexes = [
            models.Index(fields=["org", "category", "name"], name="product_category", condition=ALIVE),
            models.Index(Lower("name"), "org", name="product_name", condition=ALIVE),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class Deal(OwnedModel):
    """An opportunity in a pipeline. `stage_entered_at` is when it came into its current stage (the
    open row of its `DealStage` history has the same time); `closed_at` is set in a won or lost stage."""

    name = models.CharField(max_length=200)
    amount = amount_field(default=0)
    currency = models.CharField(max_length=3)
    expected_close_date = models.DateField(null=True, blank=True)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    stage_entered_at = models.DateTimeField()
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="primary_deals"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    source = models.CharField(max_length=100, blank=True, default="")
    lost_reason = models.CharField(max_length=500, blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    competitors = models.ManyToManyField(Competitor, blank=True, related_name="deals")
    custom = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The board: a pipeline's column, newest in the stage first.
            models.Index(fields=["org", "stage", "-stage_entered_at", "-id"], name="deal_board", condition=ALIVE),
            models.Index(fields=["org", "-created_at", "-id"], name="deal_created", condition=ALIVE),
            models.Index(fields=["org", "owner", "stage"], name="deal_owner_stage", condition=ALIVE),
            models.Index(fields=["org", "expected_close_date"], name="deal_close_date", condition=ALIVE),
            models.Index(fields=["org", "closed_at"], name="deal_closed", condition=ALIVE),
            models.Index(fields=["org", "company"], name="deal_company"),
            models.Index(fields=["org", "contact"], name="deal_contact"),
        ]

    def __str__(self) -> str:
        return self.name


class DealRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    INFLUENCER = "influencer", "Influencer"
    USER = "user", "User"
    BLOCKER = "blocker", "Blocker"
    OTHER = "other", "Other"


class DealContact(models.Model):
    """A contact involved in a deal, with their role in it (the primary contact is `Deal.contact`)."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="deal_links")
    role = models.CharField(max_length=20, choices=DealRole.choices, default=DealRole.OTHER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="dealcontact_unique")]
        indexes = [models.Index(fields=["org", "contact"], name="dealcontact_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} as {self.role} in deal {self.deal_id}"


class DealLine(models.Model):
    """A line item of a deal: a product (or a free text line), quantity, price and discount."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    unit_price = amount_field()
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="dealline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="dealline_discount_percent"
            ),
        ]
        indexes = [models.Index(fields=["deal", "position"], name="dealline_order")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class DealStage(models.Model):
    """One stay of a deal in a stage: entered, and left (empty while it is still there). Time in
    stage, velocity and stage-to-stage conversion are computed from these rows."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_history")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    # Empty once the stage is deleted: the stay stays (velocity and a deal's path keep it).
    stage = models.ForeignKey(Stage, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # A deal is in one stage at a time.
            models.UniqueConstraint(fields=["deal"], condition=Q(left_at__isnull=True), name="dealstage_one_open"),
        ]
        indexes = [
            models.Index(fields=["deal", "entered_at"], name="dealstage_deal"),
            models.Index(fields=["org", "stage", "entered_at"], name="dealstage_stage"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} in stage {self.stage_id} from {self.entered_at:%Y-%m-%d}"


class ExchangeRate(OrgScopedModel):
    """How much one unit of `currency` is worth in the workspace's base currency from `valid_from`
    on (the latest rate on or before a date converts amounts of that date)."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    valid_from = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "currency", "valid_from"], name="exchangerate_unique_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from}"


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Quota(OrgScopedModel):
    """A member's sales target for a month or a quarter, in the base currency."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField()
    amount = amount_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user", "period", "period_start"], name="quota_unique_period"),
        ]


class NumberSequence(models.Model):
    """The last number handed out per workspace and kind (quotes, orders): numbers are taken under
    a row lock, so two at once never get the same one."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "kind"], name="numbersequence_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.last}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class Order(OwnedModel):
    """A purchase: what a customer (contact and/or company) bought, when, for how much. Created by
    hand, from a won deal or an accepted quote, or upserted by an e-commerce or ERP system by its
    `external_id`. `total` is the sum of the lines (kept by the services)."""

    number = models.PositiveBigIntegerField()
    external_id = models.CharField(max_length=100, blank=True, default="")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    quote = models.ForeignKey("sales.Quote", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    ordered_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.CONFIRMED)
    currency = models.CharField(max_length=3)
    total = amount_field(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "number"], name="order_unique_number"),
            models.UniqueConstraint(
                fields=["org", "external_id"], name="order_unique_external_id", condition=~Q(external_id="")
            ),
            # An accepted quote becomes at most one order.
            models.UniqueConstraint(fields=["quote"], name="order_unique_quote", condition=Q(quote__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["org", "-ordered_at", "-id"], name="order_time", condition=ALIVE),
            models.Index(fields=["org", "contact", "-ordered_at"], name="order_contact"),
            models.Index(fields=["org", "company", "-ordered_at"], name="order_company"),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"


class OrderLine(models.Model):
    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    unit_price = amount_field()
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    line_total = amount_field()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="orderline_discount_percent"
            ),
        ]
        indexes = [
            models.Index(fields=["order", "position"], name="orderline_order"),
            models.Index(fields=["org", "product"], name="orderline_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Quote(OwnedModel):
    """A priced offer built from a deal's line items, numbered per workspace. Amounts are in the
    quote's currency; `subtotal` is the lines after their discounts, `tax_total` the tax on them,
    `total` = subtotal + tax (all kept by the services). An accepted quote can become one order."""

    number = models.PositiveBigIntegerField()
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="quotes")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="", help_text="Terms and notes printed on the quote")
    subtotal = amount_field(default=0)
    discount_total = amount_field(default=0)
    tax_total = amount_field(default=0)
    total = amount_field(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "number"], name="quote_unique_number")]
        indexes = [
            models.Index(fields=["org", "-created_at", "-id"], name="quote_created", condition=ALIVE),
            models.Index(fields=["org", "deal"], name="quote_deal"),
            models.Index(fields=["org", "status"], name="quote_status", condition=ALIVE),
        ]

    def __str__(self) -> str:
        return f"Quote {self.number}"


class QuoteLine(models.Model):
    """A priced line of a quote: copied from the deal's lines when the quote is made, then its own."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    unit_price = amount_field()
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    tax_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    line_total = amount_field(help_text="Quantity x unit price less the discount, before tax")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quoteline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100), name="quoteline_discount_percent"
            ),
            models.CheckConstraint(condition=Q(tax_percent__gte=0, tax_percent__lte=100), name="quoteline_tax_percent"),
        ]
        indexes = [models.Index(fields=["quote", "position"], name="quoteline_order")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"
