"""The curated content, installed as the package ``bot.curated`` (see pyproject.toml).

Curators edit the TOML files here; a package of them lets a wheel carry them and
``importlib.resources`` find them from any working directory.
"""
