"""The staff screens, one module per area of the back office."""
