"""Blueprints, one per audience: public, drivers, coordinators, SMS webhooks, API."""
