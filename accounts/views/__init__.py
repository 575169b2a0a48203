"""Web UI of identity and tenancy: one module per area, each with its own `urlpatterns` (see accounts.urls)."""
