"""Schema = API: schemathesis runs every phase (examples, coverage, fuzzing, stateful) with every check against
/api/schema/ on a live test server, with an admin key of an account that has a subscription, members, invoices
and a credit note. Any failure of any check fails the test."""

from collections import Counter

import pytest
import schemathesis
from rest_framework.test import APIClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from accounts.services import membership_invite
from api.keys import api_key_create
from api.throttling import ActivationRateThrottle, ApiKeyRateThrottle
from subscriptions.services import subscription_create

from .conftest import DAY

PHASES = ("examples", "coverage", "fuzzing", "stateful")
EXAMPLES_PER_OPERATION = 15  # fuzzing: enough for every operation to answer 2xx as well as 4xx


def _config(secret: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 18,
            "max-failures": 50,
            "headers": {"Authorization": f"Bearer {secret}"},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True, "no-shrink": True},
            "checks": {
                "enabled": True,
                # Besides the defaults (2xx, 3xx, 401, 403, 404, 409, 429): 422 `idempotency_key_reused`. The
                # generator repeats Idempotency-Key values across requests; a key used for a different request is
                # refused by design (IETF draft-ietf-httpapi-idempotency-key-header), whatever the body says.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
                },
            },
            "phases": {
                "examples": {
                    "enabled": True,
                    "fill-missing": True,
                },  # a case for every operation, not only those with examples
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": 10},
            },
            "workers": 1,
            "max-redirects": 0,
            "request-timeout": 20,
            # Not applicable: billing details are checked by the same service as Settings › Billing details, which
            # refuses what JSON Schema cannot say (VAT ID check digits per country, at most 3 address lines, a
            # country from the list), so a schema-valid body can rightly be a 400. Every other check still runs.
            "operations": [
                {
                    "include-path": "/api/v1/billing-details",
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                }
            ],
        }
    )


@pytest.fixture
def account_with_data(account, owner, fixed_plan):
    """Three members, a fixed-seat subscription, its invoice and a credit note (seats 5 → 3)."""
    for email in ("ana@example.com", "ben@example.com"):
        membership_invite(account=account, email=email, on=DAY)
    subscription_create(account=account, plan=fixed_plan, cycle="monthly", on=DAY, seats=5)
    _, secret = api_key_create(account=account, name="schemathesis", role="admin", by=owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.post("/api/v1/subscription/seats", {"seats": 3}, format="json").status_code == 200
    return secret


@pytest.mark.django_db(transaction=True)
def test_every_phase_and_check_passes(live_server, account_with_data, monkeypatch, capsys):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "1000000/min"})
    monkeypatch.setattr(ActivationRateThrottle, "THROTTLE_RATES", {"activation": "1000000/min"})
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", config=_config(account_with_data)
    )
    schema.config.update(base_url=live_server.url)

    cases, operations, failures, errors = Counter(), Counter(), [], []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases[event.phase.value] += len(event.recorder.cases)
            if event.recorder.cases:
                operations[event.phase.value] += 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE:
                        case = event.recorder.cases[case_id].value
                        interaction = event.recorder.interactions.get(case_id)
                        response = interaction.response if interaction else None
                        answer = f"{response.status_code} {response.content[:300]!r}" if response else "no response"
                        failures.append(f"{check.name}: {case.method} {case.formatted_path} → {answer}; {case.headers}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(repr(event))
        elif isinstance(event, events.EngineFinished):
            failures.extend(str(f) for f in event.failures)

    with capsys.disabled():
        print(f"\nschemathesis cases per phase: {dict(cases)}; operations reached: {dict(operations)}")
        for line in failures[:80]:
            print("  FAIL", line[:600])
        for line in errors[:20]:
            print("  ERROR", line[:600])
    assert errors == []
    assert failures == []
    assert set(cases) == set(PHASES)
