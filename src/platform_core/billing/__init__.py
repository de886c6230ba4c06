"""Billing: invoices and their lines, payments, their allocations to invoices, and refunds."""
