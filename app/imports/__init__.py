"""CSV imports of leads and contacts."""
