"""Webhooks for partner systems: subscriptions, a transactional outbox, signed delivery."""
