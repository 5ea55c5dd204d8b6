"""Support desk: tickets with SLAs, public replies and internal notes, sentiment and the knowledge base."""
