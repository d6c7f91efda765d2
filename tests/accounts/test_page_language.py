"""Pages follow the browser's language among English, German and French (LocaleMiddleware, issue 19)."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/settings/billing-details/"


@pytest.mark.parametrize(
    ("accept", "lang", "words"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", ["Einstellungen", "Abmelden", "Rechnungsdaten", "Rechnungen"]),
        ("fr-FR,fr;q=0.9", "fr", ["Paramètres", "Se déconnecter", "Coordonnées de facturation", "Factures"]),
        ("es-ES,es;q=0.9", "en", ["Settings", "Log out", "Billing details", "Invoices"]),  # not offered: English
    ],
)
def test_the_layout_and_settings_tabs_speak_the_browsers_language(as_role, accept, lang, words):
    page = as_role("owner").get(URL, HTTP_ACCEPT_LANGUAGE=accept).content.decode()

    assert f'<html lang="{lang}">' in page
    for word in words:
        assert f">{word}<" in page
