"""Campaign configuration (TOML) and service settings (environment)."""

from config.campaign import DEFAULT_CAMPAIGN, Campaign, CampaignError, Unit, UnitKind, load_campaign

__all__ = ["DEFAULT_CAMPAIGN", "Campaign", "CampaignError", "Unit", "UnitKind", "load_campaign"]
