"""Server-rendered dashboard: devices, models, jobs, leaderboard and the seed's comparison tables."""
