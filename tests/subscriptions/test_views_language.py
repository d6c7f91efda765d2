"""Settings › Subscription in the reader's language: German and French words, money and dates (issue 19)."""

from datetime import date

import pytest
import time_machine
from django.utils import translation

from subscriptions.models import Subscription
from tests.builders import make_plan, world

pytestmark = pytest.mark.django_db

DETAIL = "/settings/subscription/"


@pytest.fixture
def euro_team(client):
    """Olivia alone on a €3.50-a-seat monthly plan since Nov 1, signed in on Nov 15; a €5.00 plan to change to."""
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        plan = make_plan("team", currency="EUR", monthly="3.50", annual="35.00")
        make_plan("pro", currency="EUR", monthly="5.00", annual="50.00")
        w = world(on=date(2026, 11, 1), plan_obj=plan, people=0)
        client.force_login(w.owner)
        yield client


def page(client, accept: str) -> str:
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        return client.get(DETAIL, HTTP_ACCEPT_LANGUAGE=accept).content.decode()


def test_a_german_browser_reads_the_subscription_in_german(euro_team):
    html = page(euro_team, "de-DE,de;q=0.9")

    assert '<html lang="de">' in html
    assert "Team, monatlich abgerechnet" in html
    assert "Verlängert sich am 01.12.2026." in html
    assert "Nächste Rechnung" in html and "Belegte Plätze" in html
    assert "3,50\xa0€" in html  # the next invoice, formatted the German way
    assert "Guthaben: <strong data-credit-balance>0,00\xa0€</strong>" in html


def test_a_french_browser_reads_the_subscription_in_french(euro_team):
    html = page(euro_team, "fr-FR,fr;q=0.9")

    assert '<html lang="fr">' in html
    assert "Team, facturé mensuellement" in html
    assert "Prochaine facture" in html and "Résilier l'abonnement" in html
    assert "3,50\xa0€" in html


def test_english_stays_the_default(euro_team):
    html = page(euro_team, "es-ES,es;q=0.9")

    assert "Team, billed monthly" in html and "Renews on Dec 1, 2026." in html
    assert "€3.50" in html


def test_the_footer_switches_the_language_for_the_pages_that_follow(euro_team):
    html = page(euro_team, "en")
    assert 'action="/i18n/setlang/"' in html
    assert 'name="language" value="de" lang="de"' in html and ">Deutsch<" in html and ">Français<" in html
    assert "<script>" not in html  # a plain form: nothing inline for the Content-Security-Policy to refuse

    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        switched = euro_team.post("/i18n/setlang/", {"language": "fr", "next": DETAIL})
    assert switched.status_code == 302 and switched["Location"] == DETAIL

    html = page(euro_team, "en")  # the chosen language wins over the browser's
    assert '<html lang="fr">' in html and "Prochaine facture" in html and "3,50\xa0€" in html


@pytest.mark.parametrize(
    ("url", "accept", "words"),
    [
        ("/settings/members/", "de", ["Mitglieder von Acme", "Personen einladen", "Inhaber", "1 Platz belegt"]),
        ("/settings/members/", "fr", ["Membres de Acme", "Inviter des personnes", "Propriétaire", "Actif"]),
        ("/settings/billing-details/", "de", ["Firmenname", "Postleitzahl", "Rechnungssprache", "speichern"]),
        ("/settings/billing-details/", "fr", ["Raison sociale", "Code postal", "Langue des factures"]),
        ("/settings/invoices/", "de", ["Nummer", "Datum", "Betrag", "3,50\xa0€"]),
        ("/settings/subscription/cancel/", "fr", ["Pourquoi résiliez-vous ?", "C&#x27;est trop cher", "Garder l"]),
        (
            "/settings/subscription/plan/",
            "de",
            ["Tarif wechseln", "Ihr Tarif", "3,50\xa0€ pro Platz und Monat", "5,00\xa0€ pro Platz und Monat"],
        ),
        ("/settings/payment-method/", "fr", ["Moyen de paiement", "Payez par virement à", "virement</strong>"]),
    ],
)
def test_the_other_settings_pages_speak_the_browsers_language(euro_team, url, accept, words):
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        html = euro_team.get(url, HTTP_ACCEPT_LANGUAGE=accept).content.decode()

    for word in words:
        assert word in html, word


def test_the_cost_of_a_seat_change_is_said_in_the_active_language():
    from django.utils import translation

    from subscriptions.previews import Preview, cost_impact

    with translation.override("de"):
        assert cost_impact(Preview()) == ["Noch kein Abonnement: keine Kosten."]
    with translation.override("fr"):
        assert cost_impact(Preview()) == ["Pas encore d'abonnement : aucun frais."]


def test_a_german_plan_card_says_its_prices_include_vat(euro_team):
    make_plan("brutto", currency="EUR", monthly="5.95", annual=None, prices_include_tax=True)
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        html = euro_team.get("/settings/subscription/plan/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert html.count("<li>Preise inkl. USt.</li>") == 1  # the tax-inclusive plan only
    assert "Prices include VAT" not in html


def test_subscription_status_labels_read_in_german():
    with translation.override("de"):
        labels = [str(label) for label in Subscription.Status.labels]

    assert labels == ["Testphase", "Aktiv", "Überfällig", "Gekündigt (endet zum Periodenende)", "Abgelaufen"]


def test_a_refusal_reads_in_german_on_a_german_page(euro_team):
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        response = euro_team.post("/settings/subscription/undo-cancel/", HTTP_ACCEPT_LANGUAGE="de", follow=True)

    html = response.content.decode()
    assert "Dieses Abonnement ist nicht gekündigt." in html
    assert "This subscription is not canceled." not in html
