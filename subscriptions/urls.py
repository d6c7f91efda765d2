from django.urls import path

from subscriptions import views

app_name = "subscriptions"
urlpatterns = [
    path("", views.subscription_detail, name="detail"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("cycle/", views.switch_cycle, name="switch_cycle"),
    path("plan/", views.change_plan, name="change_plan"),
    path("undo-plan-change/", views.undo_plan_change, name="undo_plan_change"),
    path("seats/", views.set_seats, name="set_seats"),
    path("cancel/", views.cancel, name="cancel"),
    path("undo-cancel/", views.undo_cancel, name="undo_cancel"),
    path("refund/", views.request_refund, name="refund"),
    path("coupon/", views.apply_coupon, name="coupon"),
    path("trial-offer/", views.accept_trial_offer, name="trial_offer"),
]
