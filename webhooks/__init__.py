"""Signed callbacks and webhooks (Standard Webhooks): each account's signing secret, its
endpoints, and every delivery with its attempts. Billing's usage alerts and the jobs app's
callbacks send through ``webhooks.services``."""
