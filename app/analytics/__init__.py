"""Analytics: the funnel, the agents' leaderboard, the dashboard's KPIs and revenue attribution."""
