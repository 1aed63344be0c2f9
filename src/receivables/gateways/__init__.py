"""Payment gateways: the protocol, the built-in sandbox, and e-transaction records."""
