from django import template

from licensing.selectors import licensed_membership_ids

register = template.Library()


@register.simple_tag
def licensed_ids(account) -> set[int]:
    """`{% licensed_ids current_account as licensed %}` then `{% if m.pk in licensed %}`: who holds a licence."""
    return licensed_membership_ids(account) if account is not None else set()
