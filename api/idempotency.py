"""`Idempotency-Key` on POSTs: a retried request gets the first response back and changes nothing."""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.errors import error_body
from api.models import IdempotentResponse

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)  # like Stripe: a key can be reused for a new request a day later


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder, default=str)
    text = f"{request.method} {request.get_full_path()} {body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record: IdempotentResponse, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        return Response(
            error_body(
                "idempotency_key_reused",
                f"This {HEADER} was used for a different request; use a new key for a new request.",
                HEADER,
            ),
            status=422,
        )
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(scope_of):
    """Decorate a POST handler; `scope_of(view, request)` names whose keys these are (an account, a subscription).

    The handler and the stored response share one transaction, so a retry either finds the
    first response or runs for the first time. Server errors (5xx) and 429s are not stored.
    """

    def decorator(handler):
        @wraps(handler)
        def wrapped(view, request, *args, **kwargs):
            key = request.headers.get(HEADER, "").strip()
            if not key:
                return handler(view, request, *args, **kwargs)
            if len(key) > 255:
                return Response(error_body("invalid", f"{HEADER} is at most 255 characters.", HEADER), status=400)
            scope = scope_of(view, request)[:80]
            fingerprint = _fingerprint(request)
            IdempotentResponse.objects.filter(scope=scope, created_at__lt=timezone.now() - KEPT_FOR).delete()
            record = IdempotentResponse.objects.filter(scope=scope, key=key).first()
            if record is not None:
                return _replay(record, fingerprint)
            try:
                with transaction.atomic():
                    try:
                        response = handler(view, request, *args, **kwargs)
                    except Exception as exc:  # the API's error response for it is what gets stored
                        response = view.handle_exception(exc)
                    if response.status_code < 500 and response.status_code != 429:
                        body = json.loads(json.dumps(response.data, cls=JSONEncoder))
                        IdempotentResponse.objects.create(
                            scope=scope,
                            key=key,
                            method=request.method,
                            path=request.path[:300],
                            fingerprint=fingerprint,
                            status_code=response.status_code,
                            body=body,
                        )
            except IntegrityError:
                # A concurrent first request with the same key won; answer as it did.
                record = IdempotentResponse.objects.get(scope=scope, key=key)
                return _replay(record, fingerprint)
            return response

        return wrapped

    return decorator
