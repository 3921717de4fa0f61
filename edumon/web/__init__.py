"""The review page: a small server-rendered web application for comms staff and school leaders.

Import `edumon.web.app.create_app` for the application; this package's
`__init__` stays free of web-framework imports so the config can use
`core.config` without them.
"""
