"""Cross-cutting building blocks that know nothing of HTTP: errors, lists, schemas, permissions, jobs."""
