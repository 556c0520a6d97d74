"""The order pages (rapport.sales.order_views). Other pages link to an order with
`{% url 'orders:detail' order.pk %}`."""

from django.urls import path

from rapport.sales import order_views

app_name = "orders"

urlpatterns = [
    path("sales/orders/", order_views.list_page, name="list"),
    path("sales/orders/new/", order_views.create_page, name="create"),
    path("sales/orders/<int:order_id>/", order_views.detail_page, name="detail"),
    path("sales/orders/<int:order_id>/edit/", order_views.edit_page, name="edit"),
    path("sales/orders/<int:order_id>/status/", order_views.status_view, name="status"),
    path("sales/orders/<int:order_id>/delete/", order_views.delete_page, name="delete"),
]
