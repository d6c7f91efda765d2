from common.locales import page_locale


def current_account(request):
    """The account the signed-in person is working in, their membership of it, and the page's locale."""
    account = getattr(request, "account", None)
    return {
        "page_locale": page_locale(account),
        "current_account": account,
        "current_membership": getattr(request, "membership", None),
    }
