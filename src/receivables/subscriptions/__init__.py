"""Service plans, subscriptions, orders (sales, renewal, cancellation), renewals and cancellation refunds."""
