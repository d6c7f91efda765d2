"""Schemathesis against /api/schema/ on a live test server, with a valid admin key: no 5xx, responses conform."""

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.services import membership_invite, signup
from api.keys import api_key_create
from api.throttling import ActivationRateThrottle, ApiKeyRateThrottle
from subscriptions.services import subscription_create

from .conftest import DAY

EXAMPLES_PER_OPERATION = 8


@pytest.mark.django_db(transaction=True)
def test_every_operation_conforms_to_the_schema(live_server, plan, monkeypatch, capsys):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "100000/min"})
    monkeypatch.setattr(ActivationRateThrottle, "THROTTLE_RATES", {"activation": "100000/min"})
    _, account = signup(email="owner@example.com", password="a long password 1", account_name="Acme")
    membership_invite(account=account, email="ana@example.com", on=DAY)
    subscription_create(account=account, plan=plan, cycle="monthly", on=DAY)
    owner = account.memberships.get(role="owner")
    _, secret = api_key_create(account=account, name="schemathesis", role="admin", by=owner)

    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    ran, operations = 0, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            nonlocal ran
            ran += 1
            case.call_and_validate(
                base_url=live_server.url,
                headers={"Authorization": f"Bearer {secret}"},
                allow_redirects=False,
                # The billing rules refuse some schema-valid requests by design (switching to the cycle you are
                # on, archiving the owner): a documented 400 with the error body, checked by the other checks.
                excluded_checks=[positive_data_acceptance],
            )

        check()
    with capsys.disabled():
        print(f"\nschemathesis: {ran} cases over {operations} operations")
    assert operations == 24
    assert ran >= operations
