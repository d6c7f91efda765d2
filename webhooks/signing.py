"""An event as the body a receiver gets, and its Standard Webhooks signature headers (standardwebhooks).

Pure: no database, no network. Delivery (on the task engine) sends `body` with `headers(...)`; the same
`webhook-id` on every attempt, so a receiver can drop duplicates.
"""

import json
from datetime import UTC, datetime

from standardwebhooks import Webhook


def event_body(*, event_type: str, created_at: datetime, account_id: int, payload: dict) -> bytes:
    """`{"type", "timestamp", "data"}` as the specification shapes it; `data` names the account."""
    envelope = {
        "type": event_type,
        "timestamp": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"account_id": account_id, **payload},
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def sign(*, secret: str, msg_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three headers of the specification: id, Unix timestamp, `v1,<base64 HMAC-SHA256>`."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body.decode()),
    }
