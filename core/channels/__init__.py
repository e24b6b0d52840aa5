"""The one interface every provider adapter implements, and how the core finds adapters."""
