"""Call center: calls, transfers, telephony providers and call analytics."""
