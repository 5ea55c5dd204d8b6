"""Tenancy: the tenant every row belongs to. Every domain's tables reference it; it references nothing."""
