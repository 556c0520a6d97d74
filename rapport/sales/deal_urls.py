"""The deal pages: the board, the list, a deal's page and its forms (rapport.sales.board_views,
rapport.sales.deal_views)."""

from django.urls import path

from rapport.sales import board_views, deal_line_views, deal_views

app_name = "sales"

urlpatterns = [
    path("deals/", board_views.board_page, name="board"),
    path("deals/board/<int:pipeline_id>/", board_views.board_page, name="pipeline_board"),
    path("deals/board/stages/<int:stage_id>/", board_views.column_view, name="column"),
    path("deals/list/", deal_views.list_page, name="list"),
    path("deals/new/", deal_views.create_page, name="create"),
    path("deals/<int:deal_id>/", deal_views.detail_page, name="detail"),
    path("deals/<int:deal_id>/edit/", deal_views.edit_page, name="edit"),
    path("deals/<int:deal_id>/move/", board_views.move_view, name="move"),
    path("deals/<int:deal_id>/delete/", deal_views.delete_page, name="delete"),
    path("deals/<int:deal_id>/products/", deal_line_views.lines_page, name="lines"),
    path("deals/<int:deal_id>/order/", deal_line_views.order_view, name="order"),
]
