"""SAQ task modules. `tasks.settings` collects the functions and cron jobs every worker runs."""
