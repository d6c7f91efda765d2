from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import two_factor_views, views
from accounts.forms import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    # Django's own auth views with the project's templates (templates/registration/).
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/verify/resend/", views.email_verify_resend, name="email_verify_resend"),
    path("accounts/verify/<str:token>/", views.email_verify, name="email_verify"),
    path("accounts/2fa/", two_factor_views.verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", two_factor_views.setup, name="two_factor_setup"),
    path("accounts/switch/", views.account_switch, name="account_switch"),
    path("accounts/switch/<slug:slug>/", views.account_switch, name="account_switch_to"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/billing-details/", views.billing_details, name="billing_details"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/invite/", views.member_invite, name="member_invite"),
    path("settings/members/<int:pk>/archive/", views.member_archive, name="member_archive"),
    path("settings/members/<int:pk>/reactivate/", views.member_reactivate, name="member_reactivate"),
    path("settings/members/<int:pk>/role/", views.member_change_role, name="member_change_role"),
    path("settings/members/<int:pk>/remove/", views.member_remove_invitation, name="member_remove_invitation"),
    path("settings/members/<int:pk>/resend/", views.member_resend_invitation, name="member_resend_invitation"),
    path("settings/members/<int:pk>/transfer/", views.ownership_transfer, name="ownership_transfer"),
]
