"""The kernel's built-in API declarations."""
