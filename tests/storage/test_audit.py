from __future__ import annotations

import datetime as dt

from storage.repo import Store

YANBIAN = "延边朝鲜族自治州教育局"


def test_the_audit_log_masks_phone_and_id_numbers(store: Store) -> None:
    store.audit.record(
        "bot:wufengxia",
        "status.asked",
        YANBIAN,
        text="我的电话 13812345678，身份证 22240119800101123X",
        phone="0433-2513420",
        nominee={"name": "金哲洙", "id_number": "222401198001011234"},
        when=dt.date(2021, 8, 20),
    )
    (entry,) = store.audit.entries(action="status.asked")
    dumped = entry.model_dump_json()
    for secret in ("13812345678", "22240119800101123X", "2513420", "222401198001011234"):
        assert secret not in dumped
    assert entry.detail["text"] == "我的电话 138****5678，身份证 2224**********123X"
    assert entry.detail["nominee"]["name"] == "金哲洙"
    assert entry.detail["when"] == "2021-08-20"
    assert entry.actor == "bot:wufengxia" and entry.unit_name == YANBIAN
