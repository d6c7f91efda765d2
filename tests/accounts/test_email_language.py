"""Emails to people are written in the language they read (issue 19): an account's invitation in the
account's invoice language, sign-up and password-reset emails in the language of the page that sent them."""

from django.core import mail
from django.test import Client

from accounts.models import Account


def test_an_invitation_to_a_german_account_is_in_german(as_role, team):
    Account.objects.filter(pk=team["account"].pk).update(invoice_language="de")

    as_role("owner").post("/settings/members/invite/", {"emails": "ana@x.example", "role": "member"})

    (message,) = mail.outbox
    assert message.subject.endswith(f"hat Sie zu {team['account'].name} auf Prorata eingeladen")
    assert message.body.startswith("Guten Tag,")
    assert f"hat Sie eingeladen, {team['account'].name} auf Prorata als Mitglied beizutreten." in message.body
    assert "/invitations/" in message.body and "invited" not in message.body


def test_an_english_account_invites_in_english_from_a_german_page(as_role, team):
    owner = as_role("owner")

    owner.post("/settings/members/invite/", {"emails": "ana@x.example", "role": "member"}, HTTP_ACCEPT_LANGUAGE="de")

    (message,) = mail.outbox
    assert message.subject.endswith(f"invited you to {team['account'].name} on Prorata")
    assert message.body.startswith("Hello,")


def test_sign_up_from_a_french_page_sends_french_emails(team, django_capture_on_commit_callbacks):
    form = {"name": "Nia", "password": "a-long-fine-password", "account_name": "Équipe Nia"}
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("olga@acme.example", "nia@example.com"):
            Client(HTTP_ACCEPT_LANGUAGE="fr").post("/accounts/signup/", {**form, "email": email})

    by_address = {m.to[0]: m for m in mail.outbox}
    taken, new = by_address["olga@acme.example"], by_address["nia@example.com"]
    assert taken.subject == "Quelqu'un a tenté de s'inscrire à Prorata avec votre adresse"
    assert "Cette adresse a déjà un identifiant : rien n'a été créé ni modifié." in taken.body
    assert new.subject == "Confirmez votre adresse e-mail pour Prorata"
    assert new.body.startswith("Bonjour Nia,") and "Confirmez que nia@example.com est bien votre adresse" in new.body


def test_a_password_reset_asked_on_a_german_page_is_in_german(team):
    Client(HTTP_ACCEPT_LANGUAGE="de").post("/accounts/password/reset/", {"email": "olga@acme.example"})

    (message,) = mail.outbox
    assert message.subject == "Ihr Prorata-Passwort zurücksetzen"
    assert "Jemand hat angefordert, das Prorata-Passwort für olga@acme.example zurückzusetzen." in message.body
    assert "/accounts/reset/" in message.body
