"""Billing through Stripe: plans and subscriptions, milestone fees invoiced when their milestone is done, webhooks
applied once and in any order, and the read-only gate for organizations that stopped paying.

Modules: models (tables), money (minor units), stripe_client (the one door to Stripe), service (accounts,
standing, checkout, applying subscriptions and invoices), fees (attach, invoice), webhooks, gating, jobs.
"""
