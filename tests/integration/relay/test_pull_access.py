"""The pull API behind a reverse proxy, and for several tenants at once.

Wrong tokens are limited per client address as the trusted proxy reports it
(``X-Forwarded-For``, believed only from ``trusted_proxies``); a valid token is never locked out
by anyone's wrong guesses; each tenant's token reads that tenant's events only.
"""

from __future__ import annotations

from sqlalchemy import select

from core.relay.clients import client_address, parse_networks
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import body, message
from tests.relay_harness import PULL_TOKEN, running_relay

BAD = {"Authorization": "Bearer guessed-wrong"}
GOOD = {"Authorization": f"Bearer {PULL_TOKEN}"}


async def test_a_valid_token_works_after_100_bad_tries_from_the_same_proxy(
    service: InboxService,
) -> None:
    async with running_relay(service, trusted_proxies=("127.0.0.1",)) as relay:
        statuses = []
        for _ in range(100):  # an attacker behind the proxy, one address
            headers = {**BAD, "X-Forwarded-For": "203.0.113.9"}
            async with relay.http.get(relay.url("/events"), headers=headers) as response:
                statuses.append(response.status)
        assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
        for client in ("203.0.113.9", "198.51.100.7"):  # the agent, whatever address it has
            headers = {**GOOD, "X-Forwarded-For": client}
            async with relay.http.get(relay.url("/events"), headers=headers) as response:
                assert response.status == 200
        # Another client behind the same proxy still gets its own allowance of mistakes.
        headers = {**BAD, "X-Forwarded-For": "198.51.100.7"}
        async with relay.http.get(relay.url("/events"), headers=headers) as response:
            assert response.status == 401


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(service: InboxService) -> None:
    async with running_relay(service) as relay:  # no trusted proxy
        for n in range(10):
            headers = {**BAD, "X-Forwarded-For": f"203.0.113.{n}"}  # rotating lies
            async with relay.http.get(relay.url("/events"), headers=headers) as response:
                assert response.status == 401
        async with relay.http.get(relay.url("/events"), headers=BAD) as response:
            assert response.status == 429  # limited on the real peer address


def test_client_address_reads_forwarded_for_from_the_right() -> None:
    trusted = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_address("127.0.0.1", "198.51.100.7", trusted) == "198.51.100.7"
    # The client wrote its own X-Forwarded-For: the proxy appended the real address.
    assert client_address("10.1.2.3", "1.2.3.4, 198.51.100.7, 10.0.0.5", trusted) == (
        "198.51.100.7"
    )
    assert client_address("192.0.2.1", "198.51.100.7", trusted) == "192.0.2.1"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"


async def test_one_relay_serves_several_tenants_each_seeing_its_own_events(
    service: InboxService,
) -> None:
    other = await InboxService.connect(service.db, "autre-agence", clock=service.ctx.clock)
    tokens = {PULL_TOKEN: service.ctx.tenant_id, "other-tenant-token": other.ctx.tenant_id}
    async with running_relay(service, pull_tokens=tokens) as mine:
        code, _, _ = await mine.post("/webhooks/twilio/sms", body(message("SM1", "+336", "a")))
        assert code == 200
    async with running_relay(other, pull_tokens=tokens) as theirs:
        code, _, _ = await theirs.post("/webhooks/twilio/sms", body(message("SM2", "+336", "b")))
        assert code == 200
        seen = {}
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"}
            async with theirs.http.get(theirs.url("/events"), headers=headers) as response:
                assert response.status == 200
                seen[token] = [e["dedupe_key"] for e in (await response.json())["events"]]
            # acknowledging the other tenant's event changes nothing
            async with theirs.http.post(
                theirs.url("/events/ack"), json={"ids": [1, 2]}, headers=headers
            ) as response:
                assert (await response.json())["acked"] == 1
    assert seen == {PULL_TOKEN: ["SM1"], "other-tenant-token": ["SM2"]}
    async with service.db.session() as session:
        rows = (await session.execute(select(t.InboundEventRow))).scalars().all()
    assert {(r.dedupe_key, r.tenant_id) for r in rows} == {
        ("SM1", service.ctx.tenant_id),
        ("SM2", other.ctx.tenant_id),
    }


async def test_relay_tokens_of_other_tenants_come_from_the_environment(
    service: InboxService, monkeypatch
) -> None:
    import pytest

    from core.errors import ConfigurationError
    from core.relay.secrets import tenant_tokens

    other = await InboxService.connect(service.db, "autre-agence")
    monkeypatch.setenv("COCCINELLE_RELAY_TOKENS", "autre-agence=tok-2, acme=tok-1")
    assert await tenant_tokens(service.db) == {
        "tok-2": other.ctx.tenant_id,
        "tok-1": service.ctx.tenant_id,
    }
    monkeypatch.setenv("COCCINELLE_RELAY_TOKENS", "nobody=tok-3")
    with pytest.raises(ConfigurationError, match="no tenant nobody"):
        await tenant_tokens(service.db)
    monkeypatch.setenv("COCCINELLE_RELAY_TOKENS", "just-a-token")
    with pytest.raises(ConfigurationError, match="slug=token"):
        await tenant_tokens(service.db)
