from django.core.exceptions import ValidationError


class Refused(ValidationError):
    """A change the rules refuse, with the message a user reads. Nothing was changed.

    `field` names the form field or API field at fault, when there is one.
    """

    def __init__(self, message: str, *, code: str = "refused", field: str | None = None):
        super().__init__(message, code=code)
        self.field = field

    def __str__(self):
        return self.message
