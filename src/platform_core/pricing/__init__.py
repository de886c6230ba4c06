"""Pricing: products, price books, company price agreements and the price resolver."""
