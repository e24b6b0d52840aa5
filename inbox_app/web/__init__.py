"""``coccinelle serve``: the inbox served to browsers, one app process per signed-in agent.

An aiohttp front (``server``) signs agents in (``auth``) before anything of the app is
reachable, then runs each browser session's own ``coccinelle`` process with Textual's web driver
and relays its websocket (``processes``, on textual-serve's ``AppService``). Pages are plain HTML
through the i18n layer (``pages``). Nothing here imports Textual itself.
"""
