"""The `crisiswatch` command: runs the whole system, its parts, and the admin tasks.

It is the composition root: it starts services as separate processes by module path and
never imports their code, so the services stay independent of each other and of it.
"""
