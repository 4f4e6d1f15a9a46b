"""Outbound deliveries to registry systems: the office feed's messages, signed (Standard
Webhooks) and pushed to each subscribed system, with retries, a circuit per endpoint and
dead letters. The event store is the outbox: the feed projection is read after a cursor."""
