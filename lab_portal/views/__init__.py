"""The home app's views, one module per area: the dashboard, people and profiles, notification
channels, Telegram, projects, logging in and out, and /healthz."""
