"""`undertow serve`: the workspace in a browser, server-rendered over the same store and services
as the commands (undertow/services/workspace.py); scripts and styles ship in this package."""
