"""Which account a request works in: the one chosen in the session, else the one last used, else the first."""

from django.db.models import F

from accounts.models import Membership

SESSION_KEY = "account_id"


def memberships_of(user):
    return (
        Membership.objects.select_related("account")
        .filter(user=user)
        .exclude(status=Membership.Status.ARCHIVED)
        .order_by("account__name")
    )


class CurrentAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.account = request.membership = None
        if request.user.is_authenticated:
            wanted = request.session.get(SESSION_KEY)
            mine = memberships_of(request.user)
            membership = (mine.filter(account_id=wanted).first() if wanted else None) or mine.order_by(
                F("last_used_at").desc(nulls_last=True), "account__name"
            ).first()
            if membership is not None:
                request.membership, request.account = membership, membership.account
        return self.get_response(request)
