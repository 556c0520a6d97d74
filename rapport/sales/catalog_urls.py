"""The product catalogue pages and Settings → Currencies (rapport.sales.catalog_views)."""

from django.urls import path

from rapport.sales import catalog_views

app_name = "catalog"
urlpatterns = [
    path("sales/products/", catalog_views.product_list_page, name="products"),
    path("sales/products/new/", catalog_views.product_create_page, name="product_add"),
    path("sales/products/<int:product_id>/edit/", catalog_views.product_edit_page, name="product_edit"),
    path("sales/products/<int:product_id>/delete/", catalog_views.product_delete_page, name="product_delete"),
    path("settings/currencies/", catalog_views.currencies_page, name="currencies"),
    path("settings/currencies/rates/<int:rate_id>/delete/", catalog_views.rate_delete_view, name="rate_delete"),
]
