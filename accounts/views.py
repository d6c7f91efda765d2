"""Sign-up, account switching, invitations and Settings › Members.

Views check permissions (accounts.permissions via accounts.decorators), call one
service, and redirect; a refused change re-renders the page with the service's
message next to the field it names. Every membership is looked up within
request.account, so another account's member is a 404.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.db.models import Case, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import emails, hooks, permissions, services
from accounts.decorators import billing_required, members_required, settings_required
from accounts.forms import BillingDetailsForm, InvitationAcceptForm, InviteForm, RoleForm, SignupForm, role_choices
from accounts.middleware import SESSION_KEY, memberships_of
from accounts.models import Membership, User
from accounts.vies import vies_notice
from common.clock import today
from common.errors import Refused
from common.locales import in_invoice_language, page_locale

Role = Membership.Role
Status = Membership.Status


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    if request.account is None and request.user.is_staff:
        return redirect("admin:index")  # support staff without an account of their own
    return redirect("app")


def _work_in(request, account) -> None:
    """Work in `account` for this session, and land in it at the next login."""
    request.session[SESSION_KEY] = account.pk
    services.membership_mark_used(account=account, user=request.user)


def signup(request):
    """Sign-up: the same “check your email” page whether or not the address has a login (no enumeration).

    A new address gets an unverified user owning a new account and a verification link; an address that
    already has a login gets an email saying someone tried, and nothing is created.
    """
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.signup_request(
                email=data["email"],
                password=data["password"],
                account_name=data["account_name"],
                name=data["name"],
                tax_rate=None,  # the tax rules decide from the billing details, not a manual rate
            )
        except Refused as exc:  # a shape the form let through (a blank account name)
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if created is None:
                emails.signup_attempt_send(request, data["email"])
            else:
                emails.verification_send(request, created[0])
            return _check_your_email(request, data["email"])
    return render(request, "registration/signup.html", {"form": form})


def _check_your_email(request, email: str):
    return render(
        request,
        "registration/signup_sent.html",
        {"email": email, "max_age_days": settings.EMAIL_VERIFICATION_MAX_AGE_DAYS},
    )


def email_verify(request, token: str):
    """The link from the verification email: the login works from now on; the person then logs in."""
    try:
        user = services.email_verify(token=token)
    except Refused as exc:
        if exc.code == "used":
            messages.info(request, _("Your address is already confirmed. Log in."))
            return redirect("login")
        return render(
            request,
            "registration/email_verify_invalid.html",
            {"reason": exc.code, "max_age_days": settings.EMAIL_VERIFICATION_MAX_AGE_DAYS},
            status=400,
        )
    messages.success(request, _("%(email)s is confirmed. Log in to start.") % {"email": user.email})
    return redirect(f"{reverse('login')}?{urlencode({'email': user.email})}")


@require_POST
def email_verify_resend(request):
    """A fresh verification link, only for an address still waiting for one; the same page in every case."""
    email = User.objects.normalize_email(request.POST.get("email", "").strip()).lower()
    user = User.objects.filter(email__iexact=email, email_verified=False).first() if email else None
    if user is not None:
        emails.verification_send(request, user)
    return _check_your_email(request, email)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Django's reset confirmation; setting a new password from the emailed link also confirms the address."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.email_mark_verified(form.user)
        return response


def _next_url(request, default: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next")
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}, require_https=request.is_secure()):
        return wanted
    return default


@login_required
def account_switch(request, slug: str | None = None):
    """GET lists the user's accounts; POST works in another one (only an account they belong to)."""
    mine = memberships_of(request.user)
    if request.method == "POST" and slug:
        membership = get_object_or_404(mine, account__slug=slug)
        _work_in(request, membership.account)
        messages.success(request, _("You are now working in %(name)s.") % {"name": membership.account.name})
        return redirect(_next_url(request, reverse("app")))
    return render(request, "accounts/account_switch.html", {"memberships": mine})


@settings_required
def settings_index(request):
    """Settings: only the pages this person's role may open."""
    membership = request.membership
    return render(
        request,
        "accounts/settings_index.html",
        {
            "can_billing": permissions.can_manage_billing(membership),
            "can_members": permissions.can_manage_members(membership),
        },
    )


# ---------------------------------------------------------------- Settings › Billing details


@billing_required
def billing_details(request):
    """The buyer block of the account's next documents; issued ones keep theirs."""
    account = request.account
    form = BillingDetailsForm(request.POST or None, initial=services.billing_details_of(account))
    if request.method == "POST" and form.is_valid():
        try:
            services.billing_details_update(account=account, changes=form.cleaned_data, by=request.user)
        except Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Saved. Invoices and credit notes issued from now on carry these details."))
            return redirect("billing_details")
    notice = vies_notice(account, today(account))
    return render(request, "accounts/billing_details.html", {"form": form, "account": account, "vies_notice": notice})


# ---------------------------------------------------------------- Settings › Members


def _grantable(membership) -> list[str]:
    return [role for role in Role.values if permissions.can_grant(membership, role)]


MEMBERS_PER_PAGE = 50


def _members_listed(request):
    """The page of members to show: the owner first, archived people last, then by email; `q` searches
    email and name. Paginated in the database, so the page costs the same with 10 or 10,000 members."""
    query = request.GET.get("q", "").strip()[:100]
    members = (
        Membership.objects.filter(account=request.account)
        .select_related("user", "invited_by")
        .annotate(
            owner_last=Case(When(role=Role.OWNER, then=Value(0)), default=Value(1)),
            archived_last=Case(When(status=Status.ARCHIVED, then=Value(1)), default=Value(0)),
        )
        .order_by("owner_last", "archived_last", "email", "pk")
    )
    if query:
        members = members.filter(Q(email__icontains=query) | Q(user__name__icontains=query))
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return query, page


def _members_page(request, *, invite_form=None, row_error=None, status=200):
    actor = request.membership
    grantable = _grantable(actor)
    query, page = _members_listed(request)
    return render(
        request,
        "accounts/members.html",
        {
            "members": page.object_list,
            "page": page,
            "query": query,
            "invite_form": invite_form or InviteForm(grantable=grantable),
            "role_choices": role_choices(grantable),
            "row_error": row_error,
            "row_error_shown": bool(row_error) and any(m.pk == row_error["pk"] for m in page.object_list),
            "can_transfer": permissions.can_transfer_ownership(actor),
            "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
            "seats": hooks.seat_summary(request.account),
            "locale": page_locale(request.account),
        },
        status=status,
    )


@members_required
def members(request):
    return _members_page(request)


def _refuse_grant(actor, role: str) -> None:
    if role == Role.OWNER:
        raise Refused(_("Use “Transfer ownership” to make someone the owner."), field="role")
    if not permissions.can_grant(actor, role):
        raise Refused(_("You can't give the %(role)s role.") % {"role": Role(role).label}, field="role")


def _refuse_acting_on(actor, membership) -> None:
    """Managers act only on roles they could grant; the owner is left to the services' own rule."""
    if membership.role != Role.OWNER and not permissions.can_grant(actor, membership.role):
        raise Refused(_("You can't change someone with the %(role)s role.") % {"role": membership.get_role_display()})


def invitation_send(request, membership: Membership) -> None:
    """Email the signed, expiring link; runs after the invitation is saved.

    Written in the account's invoice language: the invitee has no page language of their own yet.
    """
    link = request.build_absolute_uri(reverse("invitation_accept", args=[services.invitation_token(membership)]))
    context = {
        "membership": membership,
        "account": membership.account,
        "inviter": request.user,
        "link": link,
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    with in_invoice_language(membership.account):
        subject = _("%(inviter)s invited you to %(account)s on Prorata") % {
            "inviter": request.user.get_full_name(),
            "account": membership.account.name,
        }
        message = render_to_string("accounts/invitation_email.txt", context)
    send_mail(subject=subject, message=message, from_email=None, recipient_list=[membership.email])


@require_POST
@members_required
def member_invite(request):
    form = InviteForm(request.POST, grantable=_grantable(request.membership))
    if not form.is_valid():
        return _members_page(request, invite_form=form)
    try:
        _refuse_grant(request.membership, form.cleaned_data["role"])
        emails, role = form.cleaned_data["emails"], form.cleaned_data["role"]
        page, done = hooks.change_confirmation(
            request,
            service=services.membership_invite_many,
            kwargs={"account": request.account, "emails": emails, "role": role, "by": request.user},
            title=f"Invite {emails[0] if len(emails) == 1 else f'{len(emails)} people'}",
            action=reverse("member_invite"),
            hidden={"emails": ", ".join(emails), "role": role},
        )
        if page is not None:
            return page
        invited = done.value
    except Refused as exc:
        form.add_error(exc.field if exc.field in form.fields else "emails", exc.message)
        return _members_page(request, invite_form=form)
    for membership in invited:
        invitation_send(request, membership)
    said = {"email": invited[0].email, "n": len(invited), "days": settings.INVITATION_MAX_AGE_DAYS}
    if len(invited) == 1:
        messages.success(request, _("Invited %(email)s. The link in the email works for %(days)s days.") % said)
    else:
        messages.success(request, _("Invited %(n)s people. The link in the email works for %(days)s days.") % said)
    return redirect("members")


def _member(request, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("account", "user"), pk=pk, account=request.account)


def _act(request, pk: int, action, done: str):
    """Run one service on one member of this account; refused → the page with the message in that row."""
    membership = _member(request, pk)
    try:
        page = action(membership)
    except Refused as exc:
        return _members_page(request, row_error={"pk": membership.pk, "message": exc.message})
    if page is not None:
        return page
    messages.success(request, done % {"email": membership.email})
    return redirect("members")


def _with_cost(request, service, kwargs: dict, title: str, **hidden):
    """The page with what the change costs (accounts.hooks), or None once it is made."""
    page, _made = hooks.change_confirmation(
        request,
        service=service,
        kwargs={**kwargs, "by": request.user},
        title=title,
        action=request.path,
        hidden=hidden,
    )
    return page


@require_POST
@members_required
def member_archive(request, pk: int):
    def archive(m):
        _refuse_acting_on(request.membership, m)
        return _with_cost(request, services.membership_archive_many, {"memberships": [m]}, f"Archive {m.email}")

    return _act(request, pk, archive, _("Archived %(email)s. They no longer take a seat."))


@require_POST
@members_required
def member_reactivate(request, pk: int):
    return _act(
        request,
        pk,
        lambda m: _with_cost(
            request, services.membership_reactivate_many, {"memberships": [m]}, f"Re-activate {m.email}"
        ),
        _("Re-activated %(email)s."),
    )


@require_POST
@members_required
def member_change_role(request, pk: int):
    form = RoleForm(request.POST)

    def change(m):
        if not form.is_valid():
            raise Refused("Choose a role.", field="role")
        role = form.cleaned_data["role"]
        _refuse_grant(request.membership, role)
        _refuse_acting_on(request.membership, m)
        kwargs = {"membership": m, "role": role}
        return _with_cost(
            request, services.membership_change_role, kwargs, f"Make {m.email} {Role(role).label}", role=role
        )

    return _act(request, pk, change, _("%(email)s has a new role."))


@require_POST
@members_required
def member_remove_invitation(request, pk: int):
    return _act(
        request,
        pk,
        lambda m: services.membership_remove_invitation(membership=m, by=request.user),
        _("Withdrew the invitation to %(email)s."),
    )


@require_POST
@members_required
def member_resend_invitation(request, pk: int):
    def resend(m):
        if m.status != Status.INVITED:
            raise Refused(f"{m.email} has already joined.")
        invitation_send(request, m)

    return _act(request, pk, resend, _("Sent the invitation to %(email)s again."))


@require_POST
@members_required
def ownership_transfer(request, pk: int):
    def transfer(m):
        if not permissions.can_transfer_ownership(request.membership):
            raise Refused("Only the owner can transfer ownership.")
        services.ownership_transfer(account=request.account, to=m, by=request.user)

    return _act(request, pk, transfer, _("%(email)s is now the owner; you are an admin."))


# ---------------------------------------------------------------- accepting an invitation


def _invitation_invalid(request, exc: Refused):
    # Expired and used links are gone for good; an altered link is a bad request.
    status = 400 if exc.code == "invalid" else 410
    context = {"reason": exc.code, "message": exc.message, "max_age_days": settings.INVITATION_MAX_AGE_DAYS}
    return render(request, "accounts/invitation_invalid.html", context, status=status)


def invitation_accept(request, token: str):
    """The link from the invitation email.

    A new person chooses a password here; someone who already has a login signs
    in first and then accepts. Expired, used or altered links get a page that says so.
    """
    try:
        membership = services.invitation_lookup(token=token)
    except Refused as exc:
        return _invitation_invalid(request, exc)
    user = request.user if request.user.is_authenticated else None
    existing = user is None and User.objects.filter(email__iexact=membership.email).exists()
    wrong_user = user is not None and user.email.lower() != membership.email.lower()
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and not existing and not wrong_user and (user is not None or form.is_valid()):
        try:
            membership = services.invitation_accept(
                token=token,
                user=user,
                password=None if user else form.cleaned_data["password"],
                name="" if user else form.cleaned_data["name"],
            )
        except Refused as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                return _invitation_invalid(request, exc)
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            _work_in(request, membership.account)
            messages.success(request, _("Welcome to %(name)s.") % {"name": membership.account.name})
            return redirect("app")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"membership": membership, "form": form, "existing": existing, "wrong_user": wrong_user, "token": token},
    )
