"""The API answers in English whatever Accept-Language says (issue 19)."""

from django.utils import translation

API_PREFIX = "/api/"


class EnglishApiMiddleware:
    """Switch /api/ requests back to English after LocaleMiddleware picked the browser's language.

    Services write their refusals in the active language for pages; API clients read and match
    those messages, and the API's documentation quotes them in English.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)
