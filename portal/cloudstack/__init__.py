"""The CloudStack-compatible API door at /client/api.

registry: commands declared as data (each app's `cloudstack.py` declares its own); params: typed parsing;
signing/auth: who is calling; listing: the generic list parameters; render: JSON/XML in CloudStack's
shapes; views: the one endpoint. Handlers only parse, call services and selectors, and render.
"""
