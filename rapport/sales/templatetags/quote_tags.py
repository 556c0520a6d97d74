"""Template filters of the quote and deal pages: `order|order_url` is the order's page when the
orders pages exist (the url name "orders:detail"), else "" (the number is shown unlinked)."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from rapport.sales.models import Order

register = template.Library()


@register.filter
def order_url(order: Order) -> str:
    try:
        return reverse("orders:detail", args=[order.pk])
    except NoReverseMatch:
        return ""
