"""What the campaigns screen shows, read from the service in one go."""

from __future__ import annotations

from dataclasses import dataclass

from core.abtests.model import ABResult, ABTest
from core.campaigns.model import Campaign, CampaignProgress
from core.service import InboxService


@dataclass(frozen=True)
class Overview:
    """Every campaign with its progress, every A/B test with its results (newest first)."""

    campaigns: list[tuple[Campaign, CampaignProgress]]
    tests: list[tuple[ABTest, ABResult]]


async def overview(service: InboxService) -> Overview:
    """Read the campaigns, their progress, the A/B tests and their results."""
    campaigns = [
        (campaign, await service.campaigns.progress(campaign.id))
        for campaign in await service.campaigns.list()
    ]
    tests = [
        (test, await service.abtests.results(test.id)) for test in await service.abtests.list()
    ]
    return Overview(campaigns, tests)
