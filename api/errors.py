"""One error shape for the whole API: {"error": {"code", "message", "field"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from common.errors import Refused

# A refusal's HTTP status follows its code. Anything else the billing rules refuse is a 409 Conflict: the request
# was well formed and valid by the schema, but the account's current state does not allow it (already canceled,
# seats below the members in use, archiving the owner, inviting someone already invited). Services that check
# input (billing details) answer 400 through `invalid_input`.
REFUSED_STATUS = {
    "permission_denied": status.HTTP_403_FORBIDDEN,
    "account_locked": status.HTTP_402_PAYMENT_REQUIRED,
    "subscription_expired": status.HTTP_403_FORBIDDEN,
    "unknown_subscription": status.HTTP_404_NOT_FOUND,
    "no_subscription": status.HTTP_404_NOT_FOUND,
    "instance_limit": status.HTTP_409_CONFLICT,
    "changed_meanwhile": status.HTTP_409_CONFLICT,
    "idempotency_key_reused": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class AccountLocked(exceptions.APIException):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_code = "account_locked"
    default_detail = (
        "This account is locked for an unpaid invoice. An owner, admin or billing admin can still read and pay "
        "invoices; everything else works again once it is paid."
    )


class SubscriptionExpired(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "subscription_expired"
    default_detail = (
        "This account's subscription has expired. The owner or an admin can reactivate it in Settings › "
        "Subscription; billing roles can still read invoices."
    )


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable, e.g. `not_found`, `instance_limit`.")
    message = serializers.CharField(help_text="What went wrong, in words a user can act on.")
    field = serializers.CharField(allow_null=True, help_text="The request field at fault, if any.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def _first(detail, field=None):
    """The first message of a DRF error detail, with its field path and code."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else None
            return _first(value, field=f"{field}.{name}" if field and name else (name or field))
    if isinstance(detail, list) and detail:
        return _first(detail[0], field=field)
    code = getattr(detail, "code", None) or "invalid"
    return str(detail), code, field


def invalid_input(refused: Refused) -> exceptions.ValidationError:
    """A service's refusal of the request's input (not of the account's state) as a 400 naming the field."""
    detail = serializers.ErrorDetail(str(refused), code=refused.code or "invalid")
    return exceptions.ValidationError({refused.field: [detail]} if refused.field else [detail])


def exception_handler(exc, context):
    # Imported here: rest_framework.views loads the permission classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Refused):
        status_code = REFUSED_STATUS.get(exc.code, status.HTTP_409_CONFLICT)
        return Response(error_body(exc.code or "refused", str(exc), exc.field), status=status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(error_body("invalid", "; ".join(exc.messages)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message, code, field = _first(exc.detail)
    else:
        codes = exc.get_codes()
        message, code, field = str(exc.detail), codes if isinstance(codes, str) else "error", None
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        message = f"Too many requests. Try again in {int(exc.wait + 0.999)} seconds."
    response.data = error_body(code, message, field)
    return response
