"""The support and finance staff's Django admin (SPEC §3), above every domain app it administers."""
