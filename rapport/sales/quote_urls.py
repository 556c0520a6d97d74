"""The quote pages (rapport.sales.quote_views) under /sales/quotes/, and a deal's new-quote page."""

from django.urls import path

from rapport.sales import quote_views

app_name = "quotes"

urlpatterns = [
    path("sales/quotes/", quote_views.list_page, name="list"),
    path("sales/quotes/<int:quote_id>/", quote_views.detail_page, name="detail"),
    path("sales/quotes/<int:quote_id>/edit/", quote_views.edit_page, name="edit"),
    path("sales/quotes/<int:quote_id>/print/", quote_views.print_page, name="print"),
    path("sales/quotes/<int:quote_id>/pdf/", quote_views.pdf_view, name="pdf"),
    path("sales/quotes/<int:quote_id>/order/", quote_views.order_view, name="order"),
    path("sales/quotes/<int:quote_id>/<slug:action>/", quote_views.transition_view, name="transition"),
    path("deals/<int:deal_id>/quotes/new/", quote_views.create_page, name="create"),
]
