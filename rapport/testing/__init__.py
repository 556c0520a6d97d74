"""Test support shared by every app's tests: factories, API clients, a real SMTP sink."""
