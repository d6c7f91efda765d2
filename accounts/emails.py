"""Sign-up's emails: the verification link for a new address, a note for an address that already has a login.

Both are sent after the sign-up's transaction commits (transaction.on_commit), like every email of Prorata,
and written now, in the language of the sign-up page (the request's), which the person reads.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext

from accounts import services
from accounts.models import User


def verification_send(request, user: User) -> None:
    """Email `user` the signed link that makes their login usable (after commit)."""
    context = {
        "user": user,
        "link": request.build_absolute_uri(reverse("email_verify", args=[services.email_verification_token(user)])),
        "max_age_days": settings.EMAIL_VERIFICATION_MAX_AGE_DAYS,
    }
    subject = gettext("Confirm your email address for Prorata")
    message = render_to_string("emails/signup_verify.txt", context)
    transaction.on_commit(lambda: send_mail(subject, message, None, [user.email]))


def signup_attempt_send(request, email: str) -> None:
    """Tell the owner of an existing login that someone tried to sign up with it; nothing else happens."""
    context = {
        "email": email,
        "login": request.build_absolute_uri(reverse("login")),
        "reset": request.build_absolute_uri(reverse("password_reset")),
    }
    subject = gettext("Someone tried to sign up for Prorata with your address")
    message = render_to_string("emails/signup_existing.txt", context)
    transaction.on_commit(lambda: send_mail(subject, message, None, [email]))
