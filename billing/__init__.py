"""The pure billing core: plain functions on dates, Decimals and Money.

No Django, no clock, no settings. Services load rows, call the core and
write its answer (shared/STYLE.md, habit 1).
"""
