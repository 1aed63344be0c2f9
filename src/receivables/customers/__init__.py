"""Customers and the business's bank accounts."""
