"""Staff groups on licences and API keys, and the offline licence link on the subscription's admin page."""

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.staff_groups import FINANCE, SUPPORT, staff_groups_sync
from api.keys import api_key_create
from api.models import IdempotentResponse
from licensing.models import Activation, Licence
from tests.builders import verified_login


def staff_client(group: str | None, *, superuser: bool = False) -> Client:
    if superuser:
        user = User.objects.create_superuser(email="root@prorata.example", password=None)
    else:
        user = User.objects.create_user(email=f"{group.lower()}@prorata.example", password=None, is_staff=True)
        staff_groups_sync()
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    verified_login(client, user)
    return client


@pytest.fixture
def api_key(subscription, account):
    key, _ = api_key_create(account=account, name="HR system", role="member", by=account.memberships.get(role="owner"))
    return key


def test_groups_hold_the_licensing_and_api_permissions(db):
    staff_groups_sync()
    support = set(Group.objects.get(name=SUPPORT).permissions.values_list("codename", flat=True))
    finance = set(Group.objects.get(name=FINANCE).permissions.values_list("codename", flat=True))
    assert {"view_licence", "change_licence", "view_activation", "change_activation", "add_activation"} <= support
    assert "view_apikey" in finance and "change_apikey" not in finance
    assert "view_apikey" not in support and not {"view_licence", "view_activation"} & finance


def test_support_reads_licences_and_issues_an_offline_licence_from_the_subscription(subscription):
    support = staff_client(SUPPORT)
    assert Licence.objects.exists()
    assert support.get(reverse("admin:licensing_licence_changelist")).status_code == 200
    assert support.get(reverse("admin:licensing_activation_changelist")).status_code == 200
    assert support.get(reverse("admin:api_apikey_changelist")).status_code == 403

    page = support.get(reverse("admin:subscriptions_subscription_change", args=[subscription.pk])).content.decode()
    link = f"/admin/licensing/activation/offline/?subscription={subscription.public_id}"
    assert f'href="{link}"' in page and "Issue offline licence" in page
    form = support.get(link).content.decode()
    assert f'value="{subscription.public_id}"' in form  # the subscription ID is filled in
    issued = support.post(link, {"subscription_id": subscription.public_id, "instance_id": "srv-3"})
    assert json.loads(issued.content)["licence"]["instance_id"] == "srv-3"
    assert Activation.objects.get().instance_id == "srv-3"
    # The generic add form would make an activation without a licence: it leads to the offline page.
    assert support.get(reverse("admin:licensing_activation_add"))["Location"].endswith("/activation/offline/")


def test_finance_sees_api_keys_read_only_and_no_offline_link(subscription, api_key):
    finance = staff_client(FINANCE)
    listing = finance.get(reverse("admin:api_apikey_changelist"))
    assert listing.status_code == 200 and "HR system" in listing.content.decode()
    detail = finance.get(reverse("admin:api_apikey_change", args=[api_key.pk])).content.decode()
    assert api_key.prefix in detail and api_key.hashed not in detail  # only the hash is stored; not even that shown
    assert finance.post(reverse("admin:api_apikey_change", args=[api_key.pk]), {"name": "x"}).status_code == 403
    page = finance.get(reverse("admin:subscriptions_subscription_change", args=[subscription.pk])).content.decode()
    assert "Issue offline licence" not in page
    assert finance.get(reverse("admin:licensing_activation_offline")).status_code == 403


def test_admin_lists_query_count_does_not_grow_with_rows(subscription, account, django_assert_max_num_queries):
    root = staff_client(None, superuser=True)
    owner = account.memberships.get(role="owner")
    IdempotentResponse.objects.create(
        scope=f"account:{account.pk}", key="k1", method="POST", path="/api/v1/members", fingerprint="f", status_code=201
    )
    for n in range(3):
        api_key_create(account=account, name=f"key {n}", role="member", by=owner)
    for url in ("admin:api_apikey_changelist", "admin:api_idempotentresponse_changelist"):
        with django_assert_max_num_queries(12):
            assert root.get(reverse(url)).status_code == 200
    assert "k1" in root.get(reverse("admin:api_idempotentresponse_changelist")).content.decode()
