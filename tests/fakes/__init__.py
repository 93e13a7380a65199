"""Test doubles for external services (see openweather.py)."""
