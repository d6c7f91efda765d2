"""What happened to an account, for the product that uses Prorata: an outbox of events, and the endpoints
that will receive them (delivery and signing: issue 20, on the task engine)."""
