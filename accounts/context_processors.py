def current_account(request):
    """The account the signed-in person is working in, and their membership of it."""
    return {
        "current_account": getattr(request, "account", None),
        "current_membership": getattr(request, "membership", None),
    }
