"""Webhook mode: its settings, and the aiohttp endpoint Telegram pushes updates to."""
