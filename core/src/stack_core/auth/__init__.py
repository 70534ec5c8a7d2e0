"""Built-in auth providers, registered through the same hook as any plugin's."""
