"""Provider adapters (one subpackage per provider) and the sandbox that emulates them."""
