"""The HTML pages of ``coccinelle serve``: sign-in, the app's page, and the notices.

Every word comes from the i18n layer (``web.*``); every value put in a page is escaped.
"""

from __future__ import annotations

from html import escape

from core.i18n import language, t

_FONT = "RobotoMono-VariableFont_wght.ttf"  # textual-serve's own copy, no font CDN
_STYLE = """
body{margin:0;background:#0c181f;color:#e8eef2;font-family:system-ui,sans-serif}
main{max-width:24rem;margin:12vh auto;padding:2rem;background:#12232d;border-radius:.5rem}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem;cursor:pointer}
p.error{color:#ffb4a9}p.notice{color:#b8e0c8}
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="{language()}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def sign_in(action: str, *, error: str = "", notice: str = "", name: str = "") -> str:
    """The sign-in form; ``error`` or ``notice`` above it."""
    said = ""
    if error:
        said = f'<p class="error" id="error" role="alert">{escape(error)}</p>'
    elif notice:
        said = f'<p class="notice" id="notice">{escape(notice)}</p>'
    return _page(
        t("web.sign_in_title"),
        f"<h1>{escape(t('web.sign_in_title'))}</h1>{said}"
        f'<form method="post" action="{escape(action)}">'
        f'<label for="name">{escape(t("web.name"))}</label>'
        f'<input id="name" name="name" autocomplete="username" required value="{escape(name)}">'
        f'<label for="password">{escape(t("web.password"))}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        "required>"
        f'<button id="sign-in" type="submit">{escape(t("web.sign_in"))}</button></form>',
    )


def notice(
    title: str, text: str, *, action: str = "", button: str = "", form_token: str = ""
) -> str:
    """A page that says one thing, with at most one button (a POST form)."""
    form = ""
    if action:
        form = (
            f'<form method="post" action="{escape(action)}">'
            f'<input type="hidden" name="form_token" value="{escape(form_token)}">'
            f'<button id="notice-button" type="submit">{escape(button)}</button></form>'
        )
    return _page(title, f'<h1>{escape(title)}</h1><p id="notice">{escape(text)}</p>{form}')


def app(*, websocket_url: str, static_url: str, agent: str, sign_out: str, form_token: str) -> str:
    """The inbox's page: a bar with the agent and a sign-out button above the terminal."""
    return f"""<!DOCTYPE html><html lang="{language()}"><head><meta charset="utf-8">
<title>{escape(t("web.app_title", name=agent))}</title>
<link rel="stylesheet" href="{escape(static_url)}css/xterm.css">
<script src="{escape(static_url)}js/textual.js"></script>
<style>
@font-face{{font-family:"Roboto Mono";src:url("{escape(static_url)}fonts/{_FONT}")}}
body{{margin:0;background:#0c181f;color:#e8eef2;font-family:system-ui,sans-serif;overflow:hidden}}
header{{height:2rem;display:flex;align-items:center;gap:1rem;padding:0 .8rem;background:#12232d}}
header form{{margin-left:auto}}header button{{cursor:pointer}}
#terminal{{position:absolute;top:2rem;left:0;right:0;bottom:0;overflow:hidden;
height:calc(100vh - 2rem)!important;width:100vw!important}}
.closed{{display:none;position:absolute;inset:2rem 0 0 0;align-items:center;justify-content:center;
background:#0c181fee;z-index:10}}
body.-closed .closed{{display:flex}}
.closed div{{background:#12232d;padding:2rem;max-width:30rem;text-align:center}}
</style></head><body>
<header><span id="agent">{escape(t("web.signed_in_as", name=agent))}</span>
<form method="post" action="{escape(sign_out)}">
<input type="hidden" name="form_token" value="{escape(form_token)}">
<button id="sign-out" type="submit">{escape(t("web.sign_out"))}</button></form></header>
<div class="closed"><div><p id="closed">{escape(t("web.closed"))}</p>
<button type="button" onclick="window.location.reload()">{escape(t("web.open_again"))}</button>
</div></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{escape(websocket_url)}"
data-font-size="16"></div>
</body></html>"""
