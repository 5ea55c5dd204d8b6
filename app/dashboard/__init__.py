"""The start page, and honest placeholders for screens that are not built yet."""
