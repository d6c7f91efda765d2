"""Where a higher app plugs seat costs into the Members pages, so accounts never imports it.

accounts sits below subscriptions (README, "Layout"): members exist without a
subscription, but when an account has one, every member change is a seat
change with a price. The subscriptions app registers two callables from its
AppConfig.ready():

- `seat_summary(account) -> dict | None`: the seats line above the member list;
- `change_confirmation(request, *, service, kwargs, title, action, hidden)
  -> (page, None) | (None, result)`: a page showing what the change costs, or,
  once it is made, `result.value` is what the service returned.

Unregistered (accounts on its own), members change at no cost.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Done:
    """The result of a change made at once: what the service returned."""

    value: Any


def _no_summary(account) -> None:
    return None


def _at_once(request, *, service, kwargs: dict, title: str, action: str, hidden: dict):
    return None, Done(value=service(**kwargs))


seat_summary: Callable = _no_summary
change_confirmation: Callable = _at_once


def register(*, summary: Callable, confirmation: Callable) -> None:
    global seat_summary, change_confirmation
    seat_summary, change_confirmation = summary, confirmation
