"""Running the bot as a service: its health, readiness and metrics, served over HTTP."""
