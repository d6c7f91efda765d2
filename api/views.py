"""The account's API (SPEC §3): the same services and role rules as the settings pages."""

import json
from dataclasses import replace

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions as rules
from accounts import services as member_services
from accounts.models import Membership
from accounts.vies import vies_state
from api import serializers as s
from api.errors import ErrorSerializer, error_body, invalid_input
from api.idempotency import idempotent
from api.pagination import Cursor
from api.permissions import CanManageBilling, CanManageMembers, HasAccount, InAnyState, actor_of
from api.throttling import ActivationRateThrottle
from common.clock import today
from common.errors import Refused
from invoicing import documents
from invoicing.models import CreditNote, Invoice
from licensing import keys
from licensing.selectors import licences_of, licensed_membership_ids
from licensing.services import activation_activate
from subscriptions import previews
from subscriptions import services as sub_services
from subscriptions.selectors import entitlements_for, live_subscription, product_status, seats_in_use

ERROR_TEXT = {
    400: "Invalid input (the schema's types, formats and choices, VAT ID check digits); `field` names it.",
    401: "No API key or session, or the key is not valid or revoked (`not_authenticated`, `authentication_failed`).",
    402: "`account_locked`: an invoice is unpaid past its grace period. Only billing roles can read invoices.",
    403: "`permission_denied` (the role may not do this), `door_locked` (role none) or `subscription_expired`.",
    404: "`not_found`, `invalid_cursor` (a cursor that points to no page), or `no_subscription`.",
    409: "The account's current state refuses a valid request (`refused`, `owner`, …: already canceled, seats below "
    "the members in use, the owner's role); `changed_meanwhile`: the change no longer does what its preview showed.",
    422: "`idempotency_key_reused`: the Idempotency-Key was used for a different request.",
    429: "`throttled`: the key's rate limit is spent; retry after `Retry-After` seconds.",
}


def errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_TEXT[code]) for code in codes}


READ_ERRORS = (401, 402, 403, 429)
WRITE_ERRORS = (400, 401, 402, 403, 409, 422, 429)
LIST_ERRORS = (400, *READ_ERRORS, 404)
PREVIEW = OpenApiParameter(
    "preview",
    OpenApiTypes.BOOL,
    description=(
        "`true` (or `1`): change nothing; answer with the invoices and credit notes the change would produce. "
        "Only `true`/`false`/`1`/`0` (also `yes`/`no`, `on`/`off`); any other value is a 400 and changes nothing."
    ),
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": 255},
    location=OpenApiParameter.HEADER,
    description="A unique key per intended change: a retry with the same key returns the first response.",
)


def account_scope(view, request) -> str:
    return f"account:{actor_of(request).account.pk}"


def _live(account):
    sub = live_subscription(account)
    if sub is None:
        raise Refused(f"{account.name} has no subscription.", code="no_subscription")
    return sub


def _wants_preview(request) -> bool:
    """Strict: a client that meant to preview must never change anything by accident."""
    values = request.query_params.getlist("preview")
    if len(values) > 1:
        raise exceptions.ValidationError({"preview": ["Give preview once."]})
    form = s.PreviewQuerySerializer(data={"preview": values[0]} if values else {})
    form.is_valid(raise_exception=True)
    return form.validated_data["preview"]


def _change_body(result: previews.Preview, *, sub, preview: bool, request) -> dict:
    invoices, notes = result.invoices, result.credit_notes
    if preview:  # numbers drawn inside the rolled-back run were given back
        invoices = [replace(inv, number="") for inv in invoices]
        notes = [replace(note, number="") for note in notes]
    body = {
        "preview": preview,
        "subscription": sub,
        "invoices": invoices,
        "waiting_lines": result.waiting,
        "credit_notes": notes,
    }
    return s.ChangeResultSerializer(body, context={"request": request}).data


# ---------------------------------------------------------------- account


def account_state(account, *, on) -> dict:
    """The body of `GET /api/v1/account`: status, plan, cycle, seats, period and entitlements."""
    sub = live_subscription(account)
    state = product_status(account, sub, on=on)
    return {
        "id": account.pk,
        "name": account.name,
        "status": state,
        "plan": {"code": sub.plan.code, "name": sub.plan.name, "prices_include_tax": sub.plan.prices_include_tax}
        if sub
        else None,
        "cycle": sub.cycle if sub else None,
        "seats": {"in_use": seats_in_use(account), "paid": sub.paid_seats if sub else None},
        "current_period": {"start": sub.period_start, "end": sub.period_end} if sub else None,
        "trial_end": sub.trial_end if sub else None,
        "cancel_at_period_end": bool(sub and sub.cancel_at_period_end),
        "locked_on": account.locked_on,
        "entitlements": entitlements_for(state, sub.plan if sub else None),
    }


class AccountView(APIView):
    """Any key or member of the account, in every state: locked and expired accounts are answered, not refused."""

    permission_classes = [InAnyState]

    @extend_schema(
        tags=["account"],
        summary="The account's status, plan, seats and entitlements",
        description=(
            "The one call a product needs to decide what a user may do: `status` says whether the product "
            "should work (`active`, `trialing`, `past_due`) or be blocked (`locked`, `expired`), and "
            "`entitlements` lists the features the plan unlocks (empty while blocked). Answered for locked and "
            "expired accounts too, with any key role."
        ),
        responses={200: s.AccountStateSerializer, **errors(401, 403, 429)},
    )
    def get(self, request):
        account = actor_of(request).account
        return Response(s.AccountStateSerializer(account_state(account, on=today(account))).data)


# ---------------------------------------------------------------- subscription


class SubscriptionView(APIView):
    permission_classes = [HasAccount, CanManageBilling]

    @extend_schema(
        tags=["subscription"],
        summary="The account's subscription",
        responses={200: s.SubscriptionSerializer, **errors(*READ_ERRORS, 404)},
    )
    def get(self, request):
        sub = _live(actor_of(request).account)
        return Response(s.SubscriptionSerializer(sub, context={"request": request}).data)


class _SubscriptionChange(APIView):
    """Runs one subscription service; with ?preview=1 inside a rolled-back transaction."""

    permission_classes = [HasAccount, CanManageBilling]
    input_serializer = None

    def call(self, sub, data: dict, actor):
        raise NotImplementedError

    @idempotent(account_scope)
    def post(self, request):
        wants_preview = _wants_preview(request)  # refused before anything else is looked at
        actor = actor_of(request)
        sub = _live(actor.account)
        data = {}
        if self.input_serializer is not None:
            form = self.input_serializer(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
        service, kwargs = self.call(sub, data, actor)
        kwargs.update(on=today(actor.account), by=actor.user)
        shown = previews.preview(service, **kwargs)
        if shown.refused:
            raise Refused(shown.refused, field=shown.refused_field)
        if wants_preview:
            return Response(_change_body(shown, sub=sub, preview=True, request=request))
        done, result = previews.confirm(service, expected=shown.fingerprint(), **kwargs)
        if not done:
            raise Refused("Something changed while this ran; preview the change again.", code="changed_meanwhile")
        sub.refresh_from_db()
        return Response(_change_body(result, sub=sub, preview=False, request=request))


def _change_schema(summary: str, request=None):
    return extend_schema(
        tags=["subscription"],
        summary=summary,
        request=request,
        parameters=[PREVIEW, IDEMPOTENCY_KEY],
        responses={200: s.ChangeResultSerializer, **errors(*WRITE_ERRORS, 404)},
    )


class SubscriptionSeatsView(_SubscriptionChange):
    input_serializer = s.SeatsInputSerializer

    def call(self, sub, data, actor):
        return sub_services.subscription_set_seats, {"subscription": sub, "seats": data["seats"]}

    @_change_schema("Change the bought seat count (fixed-seat plans)", s.SeatsInputSerializer)
    def post(self, request):
        return super().post(request)


class SubscriptionCycleView(_SubscriptionChange):
    input_serializer = s.CycleInputSerializer

    def call(self, sub, data, actor):
        return sub_services.subscription_switch_cycle, {"subscription": sub, "cycle": data["cycle"]}

    @_change_schema("Switch between monthly and annual billing", s.CycleInputSerializer)
    def post(self, request):
        return super().post(request)


class SubscriptionCancelView(_SubscriptionChange):
    def call(self, sub, data, actor):
        return sub_services.subscription_cancel, {"subscription": sub}

    @_change_schema("Cancel at the end of the current period")
    def post(self, request):
        return super().post(request)


class SubscriptionUndoCancelView(_SubscriptionChange):
    def call(self, sub, data, actor):
        return sub_services.subscription_undo_cancel, {"subscription": sub}

    @_change_schema("Undo a cancellation before the period ends")
    def post(self, request):
        return super().post(request)


# ---------------------------------------------------------------- members


class MemberCursor(Cursor):
    ordering = "id"


class MemberList(generics.ListAPIView):
    permission_classes = [HasAccount, CanManageMembers]
    serializer_class = s.MemberSerializer
    pagination_class = MemberCursor

    def get_queryset(self):
        return Membership.objects.filter(account=actor_of(self.request).account).select_related("user")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        actor = actor_of(self.request)
        context["licensed"] = licensed_membership_ids(actor.account) if actor else set()
        return context

    @extend_schema(
        tags=["members"],
        summary="Members, invited and archived people",
        responses={200: s.MemberSerializer(many=True), **errors(*LIST_ERRORS)},
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        tags=["members"],
        summary="Invite someone (takes a seat at once)",
        request=s.InviteInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.MemberSerializer, **errors(*WRITE_ERRORS)},
    )
    @idempotent(account_scope)
    def post(self, request):
        actor = actor_of(request)
        form = s.InviteInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        role = form.validated_data["role"]
        if not rules.can_grant(actor.membership, role):
            raise exceptions.PermissionDenied("Your role cannot give this role.", code="permission_denied")
        member = member_services.membership_invite(
            account=actor.account, email=form.validated_data["email"], role=role, by=actor.user
        )
        return Response(self.get_serializer(member).data, status=status.HTTP_201_CREATED)


class _MemberView(generics.GenericAPIView):
    permission_classes = [HasAccount, CanManageMembers]
    serializer_class = s.MemberSerializer

    def get_queryset(self):
        return Membership.objects.filter(account=actor_of(self.request).account).select_related("user", "account")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        actor = actor_of(self.request)
        context["licensed"] = licensed_membership_ids(actor.account) if actor else set()
        return context

    def answer(self, membership):
        membership.refresh_from_db()
        return Response(self.get_serializer(membership).data)


class MemberDetail(_MemberView):
    @extend_schema(
        tags=["members"], summary="One member", responses={200: s.MemberSerializer, **errors(*READ_ERRORS, 404)}
    )
    def get(self, request, pk: int):
        return Response(self.get_serializer(self.get_object()).data)


def _member_action_schema(summary, request=None):
    return extend_schema(
        tags=["members"],
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.MemberSerializer, **errors(*WRITE_ERRORS, 404)},
    )


class MemberArchive(_MemberView):
    @_member_action_schema("Archive a member (frees the seat and the licence)")
    @idempotent(account_scope)
    def post(self, request, pk: int):
        member = self.get_object()
        member_services.membership_archive(membership=member, by=actor_of(request).user)
        return self.answer(member)


class MemberReactivate(_MemberView):
    @_member_action_schema("Re-activate an archived member")
    @idempotent(account_scope)
    def post(self, request, pk: int):
        member = self.get_object()
        member_services.membership_reactivate(membership=member, by=actor_of(request).user)
        return self.answer(member)


class MemberRole(_MemberView):
    @_member_action_schema("Change a member's role", s.RoleInputSerializer)
    @idempotent(account_scope)
    def post(self, request, pk: int):
        actor = actor_of(request)
        member = self.get_object()
        form = s.RoleInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        role = form.validated_data["role"]
        if not rules.can_grant(actor.membership, role):
            raise exceptions.PermissionDenied("Your role cannot give this role.", code="permission_denied")
        member_services.membership_change_role(membership=member, role=role, by=actor.user)
        return self.answer(member)


# ---------------------------------------------------------------- billing details


class BillingDetailsView(APIView):
    """Settings › Billing details: GET reads them, PUT replaces them all, PATCH changes some."""

    permission_classes = [HasAccount, CanManageBilling]
    readable_when_blocked = True  # read only: billing roles see whom a locked account's invoices name

    def answer(self, account):
        details = {**member_services.billing_details_of(account), "vies": vies_state(account)}
        return Response(s.BillingDetailsSerializer(details).data)

    @extend_schema(
        tags=["billing details"],
        summary="The account's billing details (the buyer on its next documents)",
        responses={200: s.BillingDetailsSerializer, **errors(*READ_ERRORS)},
    )
    def get(self, request):
        return self.answer(actor_of(request).account)

    def change(self, request, *, partial: bool):
        actor = actor_of(request)
        form = s.BillingDetailsSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        try:
            member_services.billing_details_update(
                account=actor.account, changes=dict(form.validated_data), by=actor.user
            )
        except Refused as refused:  # the service checks input: country, VAT ID, lengths, language
            raise invalid_input(refused) from None
        return self.answer(actor.account)

    @extend_schema(
        tags=["billing details"],
        summary="Replace the billing details (every field); documents issued afterwards carry them",
        request=s.BillingDetailsSerializer,
        responses={200: s.BillingDetailsSerializer, **errors(400, 401, 402, 403, 429)},
    )
    def put(self, request):
        return self.change(request, partial=False)

    @extend_schema(
        tags=["billing details"],
        summary="Change some billing details; the others keep their values",
        request=s.BillingDetailsSerializer(partial=True),
        responses={200: s.BillingDetailsSerializer, **errors(400, 401, 402, 403, 429)},
    )
    def patch(self, request):
        return self.change(request, partial=True)


# ---------------------------------------------------------------- invoices and credit notes


class _BillingDocuments(generics.GenericAPIView):
    permission_classes = [HasAccount, CanManageBilling]
    readable_when_blocked = True
    lookup_field = "number"
    lookup_url_kwarg = "number"


class InvoiceList(_BillingDocuments, generics.ListAPIView):
    serializer_class = s.InvoiceSerializer

    def get_queryset(self):
        return Invoice.objects.filter(account=actor_of(self.request).account).exclude(status=Invoice.Status.DRAFT)

    @extend_schema(
        tags=["invoices"],
        summary="Issued invoices, newest first",
        responses={200: s.InvoiceSerializer(many=True), **errors(*LIST_ERRORS)},
    )
    def get(self, request):
        return self.list(request)


class InvoiceDetail(_BillingDocuments, generics.RetrieveAPIView):
    serializer_class = s.InvoiceDetailSerializer

    def get_queryset(self):
        return (
            Invoice.objects.filter(account=actor_of(self.request).account)
            .exclude(status=Invoice.Status.DRAFT)
            .prefetch_related("lines")
        )

    @extend_schema(
        tags=["invoices"],
        summary="One invoice with its lines",
        responses={200: s.InvoiceDetailSerializer, **errors(*READ_ERRORS, 404)},
    )
    def get(self, request, number: str):
        return self.retrieve(request, number=number)


def _pdf(document) -> HttpResponse:
    """The same stored PDF the settings page serves (rendered and stored on first request)."""
    response = HttpResponse(documents.document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response


PDF_RESPONSES = {
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
    **errors(*READ_ERRORS, 404),
}


class InvoicePdf(InvoiceDetail):
    @extend_schema(tags=["invoices"], summary="The invoice PDF", responses=PDF_RESPONSES)
    def get(self, request, number: str):
        return _pdf(self.get_object())


class CreditNoteList(_BillingDocuments, generics.ListAPIView):
    serializer_class = s.CreditNoteSerializer

    def get_queryset(self):
        return CreditNote.objects.filter(account=actor_of(self.request).account, number__isnull=False).select_related(
            "invoice"
        )

    @extend_schema(
        tags=["invoices"],
        summary="Credit notes, newest first",
        responses={200: s.CreditNoteSerializer(many=True), **errors(*LIST_ERRORS)},
    )
    def get(self, request):
        return self.list(request)


class CreditNoteDetail(_BillingDocuments, generics.RetrieveAPIView):
    serializer_class = s.CreditNoteDetailSerializer

    def get_queryset(self):
        return (
            CreditNote.objects.filter(account=actor_of(self.request).account, number__isnull=False)
            .select_related("invoice")
            .prefetch_related("lines")
        )

    @extend_schema(
        tags=["invoices"],
        summary="One credit note with its lines",
        responses={200: s.CreditNoteDetailSerializer, **errors(*READ_ERRORS, 404)},
    )
    def get(self, request, number: str):
        return self.retrieve(request, number=number)


class CreditNotePdf(CreditNoteDetail):
    @extend_schema(tags=["invoices"], summary="The credit note PDF", responses=PDF_RESPONSES)
    def get(self, request, number: str):
        return _pdf(self.get_object())


# ---------------------------------------------------------------- licences


class LicenceCursor(Cursor):
    ordering = "id"


class LicenceList(generics.ListAPIView):
    permission_classes = [HasAccount, CanManageBilling]
    serializer_class = s.LicenceSerializer
    pagination_class = LicenceCursor

    def get_queryset(self):
        return licences_of(actor_of(self.request).account)

    @extend_schema(
        tags=["licences"],
        summary="Named-user licences and who holds them",
        description="As many licences as paid seats; `member_id` null means free.",
        responses={200: s.LicenceSerializer(many=True), **errors(*LIST_ERRORS)},
    )
    def get(self, request):
        return self.list(request)


def activation_scope(view, request) -> str:
    data = request.data if isinstance(request.data, dict) else {}
    return f"activation:{str(data.get('subscription_id', ''))[:60]}"


class ActivationView(APIView):
    """No API key: the subscription ID is the secret, so this endpoint has its own, lower rate limit."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ActivationRateThrottle]

    @extend_schema(
        tags=["licences"],
        summary="Activate an on-premise server online",
        description=(
            "Subscription ID + instance ID → a signed licence. Re-activating the same instance (e.g. after a "
            "renewal) returns a fresh licence. To verify it, serialise `licence` as canonical JSON (sorted keys, "
            "no spaces, ASCII) and check `signature` with the public key from /api/v1/licence-public-key; "
            "`licensing.verify.verify_licence_document` does exactly that."
        ),
        auth=[],
        request=s.ActivationInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: s.SignedLicenceSerializer,
            400: OpenApiResponse(ErrorSerializer, description=ERROR_TEXT[400]),
            402: OpenApiResponse(ErrorSerializer, description="`account_locked`: pay the overdue invoice first."),
            403: OpenApiResponse(ErrorSerializer, description="`subscription_expired`: reactivate, use the new ID."),
            404: OpenApiResponse(ErrorSerializer, description="`unknown_subscription`: no subscription has this ID."),
            409: OpenApiResponse(ErrorSerializer, description="`instance_limit`: the plan's servers are all active."),
            422: OpenApiResponse(ErrorSerializer, description=ERROR_TEXT[422]),
            429: OpenApiResponse(ErrorSerializer, description=ERROR_TEXT[429]),
        },
        examples=[
            OpenApiExample("Activate", value={"subscription_id": "sub_…", "instance_id": "srv-01"}, request_only=True)
        ],
    )
    @idempotent(activation_scope)
    def post(self, request):
        form = s.ActivationInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        _, signed = activation_activate(
            subscription_id=form.validated_data["subscription_id"], instance_id=form.validated_data["instance_id"]
        )
        return Response(json.loads(signed), status=status.HTTP_201_CREATED)


class PublicKeyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["licences"],
        summary="The public key that verifies licences (Ed25519)",
        auth=[],
        responses={200: s.PublicKeySerializer, 429: OpenApiResponse(ErrorSerializer, description=ERROR_TEXT[429])},
    )
    def get(self, request):
        try:
            body = {
                "algorithm": "Ed25519",
                "public_key_pem": keys.public_key_pem(),
                "public_key_base64": keys.public_key_base64(),
            }
        except ImproperlyConfigured:
            raise exceptions.APIException("Licence signing is not configured on this server.", code="not_configured")
        return Response(body)


@csrf_exempt
def not_found(request, *args, **kwargs):
    return JsonResponse(error_body("not_found", f"There is no API endpoint at {request.path}."), status=404)
