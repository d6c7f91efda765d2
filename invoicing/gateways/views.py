"""Settings › Payment method: how the account pays; add, replace or remove a card (issue 8).

`payment_method_context(request)` gives what templates/invoicing/payment_method_panel.html
needs, so the Subscription page can include the same panel.
"""

import stripe
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.decorators import billing_required
from accounts.models import Account
from common.errors import Refused
from common.locales import page_locale
from invoicing import stripe_services
from invoicing.formatting import money
from invoicing.gateways import gateway_for, stripe_enabled
from invoicing.models import StripeCustomer
from invoicing.selectors import invoice_outstanding, open_invoices


def payment_method_context(request, *, client_secret: str = "") -> dict:
    account = request.account
    customer = StripeCustomer.objects.filter(account=account).first()
    return {
        "payment": {
            "gateway": gateway_for(account).code,
            "how_to_pay": gateway_for(account).describe(account),
            "stripe_enabled": stripe_enabled(),
            "card_label": customer.card_label if customer else "",
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "client_secret": client_secret,
            "seller_name": settings.SELLER.get("name", ""),
            "bank": settings.SELLER.get("bank", ""),
            "terms": _terms(),
        }
    }


def _terms() -> str:
    days = settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS
    return f"within {days} days of the invoice date" if days else "on the invoice date"


@billing_required
@require_http_methods(["GET", "POST"])
def payment_method(request):
    account = request.account
    client_secret = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if not stripe_enabled():
            messages.error(request, _("Card payments are not available; invoices are paid by bank transfer."))
            return redirect("payment_method")
        try:
            if action == "start":
                client_secret = stripe_services.payment_method_setup_start(account=account)
            elif action == "save":
                was_open = {inv.number: inv for inv in open_invoices(account)}
                was_locked = account.locked_on is not None
                customer = stripe_services.payment_method_save(
                    account=account, setup_intent_id=request.POST.get("setup_intent", "")
                )
                messages.success(request, _("%(card)s will pay your invoices.") % {"card": customer.card_label})
                unpaid = set(open_invoices(account).values_list("number", flat=True))
                paid = [inv for number, inv in was_open.items() if number not in unpaid]
                if paid:
                    loc = page_locale(account)
                    what = ", ".join(f"{inv.number} ({money(invoice_outstanding(inv), loc)})" for inv in paid)
                    account.refresh_from_db(fields=["locked_on"])
                    paid_now = (
                        _("It paid %(what)s just now. Your account is open again.")
                        if was_locked and account.locked_on is None
                        else _("It paid %(what)s just now.")
                    )
                    messages.success(request, paid_now % {"what": what})
                if unpaid:
                    messages.error(
                        request,
                        _("The card could not pay %(what)s yet; see Invoices.") % {"what": ", ".join(sorted(unpaid))},
                    )
                return redirect("payment_method")
            elif action in ("use_card", "use_bank"):
                gateway = Account.Gateway.STRIPE if action == "use_card" else Account.Gateway.BANK_TRANSFER
                stripe_services.payment_gateway_choose(account=account, gateway=gateway)
                if gateway == Account.Gateway.STRIPE:
                    messages.success(request, _("Your card will pay your invoices. Open invoices can be paid now."))
                else:
                    messages.success(request, _("You pay by bank transfer; the card stays on file."))
                return redirect("payment_method")
            elif action == "remove":
                stripe_services.payment_method_remove(account=account)
                messages.success(request, _("The card was removed; invoices are now paid by bank transfer."))
                return redirect("payment_method")
            else:
                messages.error(request, _("Unknown action."))
                return redirect("payment_method")
        except Refused as e:
            messages.error(request, e.messages[0])
            return redirect("payment_method")
        except stripe.StripeError as e:
            messages.error(request, e.user_message or _("Stripe did not accept the card. Please try again."))
            return redirect("payment_method")
    return render(
        request, "invoicing/payment_method.html", payment_method_context(request, client_secret=client_secret)
    )
