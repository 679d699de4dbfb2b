"""The organiser dashboard: a page on the bot's web server, opened by a one-time link."""
