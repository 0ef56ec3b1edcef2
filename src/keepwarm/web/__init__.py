"""The web app: server-rendered pages for the owner and staff, and the JSON API.

Pages and API call the same services as the CLI. Works without JavaScript; `static/app.js`
only adds small conveniences (copy a draft, keep a mailto link in step with an edited draft).
"""

from keepwarm.web.app import create_app

__all__ = ["create_app"]
