"""Provider conformance: the sandbox and the adapters against the providers' published specs.

Each ``test_<provider>.py`` drives every operation its adapter uses through the real SDK
(twilio-python, sendgrid-python, aiogram, httpx for Meta and VAPI) against the sandbox, with every
failure the provider has, then checks every recorded exchange (``Sandbox.exchanges``) and every
webhook the sandbox posted: requests and 2xx answers against the OpenAPI documents in ``specs/``
(``openapi.py``), error bodies against each provider's documented format and the webhooks
without a schema against ``reference.py`` (Twilio, SendGrid) or Meta's and pywa's samples, VAPI
against ``vapi-server-sdk``'s models. A published spec's own defects are forgiven only field by
field, with their evidence (``spec_notes.py``); ``test_detection.py`` proves the checks catch the
differences once found. The table is printed at the end of the run (``conftest.py``).
"""
