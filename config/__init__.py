"""The ground floor: the campaign (TOML) and service settings (environment), and what every floor needs.

- `campaign.py`: the call's numbers (deadline, quotas, media specs, units, past honorees) as pydantic
  models loaded from `campaign-2021.toml`; next year's call is a new file, never a code change.
- `settings.py`: the service's `NOMDESK_*` settings (data directory, mail, WeCom).
- `masking.py`: personal numbers masked wherever text leaves the store (logs, audit, evidence).
- `jsonable.py`: the one converter to plain JSON types (JSON columns, `nomdesk check --json`).

Everything above may import from here; this package imports nothing of the desk's.
"""

from config.campaign import DEFAULT_CAMPAIGN, Campaign, CampaignError, Unit, UnitKind, load_campaign

__all__ = ["DEFAULT_CAMPAIGN", "Campaign", "CampaignError", "Unit", "UnitKind", "load_campaign"]
