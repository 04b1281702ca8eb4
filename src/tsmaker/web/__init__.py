"""The web front end: pages and an HTTP API over the library and the registry the CLI uses.

``tsmaker serve`` starts it (:func:`tsmaker.web.server.serve`); :func:`tsmaker.web.app.create_app`
builds the application. Routes parse a request, call the library, and render.
"""
