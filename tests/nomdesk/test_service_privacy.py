"""Phone and ID numbers from the forms never reach the logs (serve -v) nor the audit log unmasked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.support.service import ServeProcess, deliver, message_id_of, outbox_mails, replies_to, store_of, wait_until

pytestmark = pytest.mark.slow

SAMPLES = [SHARED / "samples" / name / "1.eml" for name in ("changbaishan_missing", "yanbian_complete")]
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


def test_verbose_service_logs_no_phone_or_id_number(tmp_path: Path) -> None:
    data = tmp_path / "var"
    raws = [p.read_bytes() for p in SAMPLES]
    with ServeProcess(data, verbose=True) as serve, store_of(data) as store:
        for raw in raws:
            deliver(data, raw)
        for raw in raws:
            wait_until(lambda raw=raw: replies_to(outbox_mails(data), message_id_of(raw)), 60, what="the replies")
        dossiers = [store.evaluations.latest_dossier(u) for u in ("长白山管委会教育科技局", "延边朝鲜族自治州教育局")]
        audit = json.dumps([a.model_dump(mode="json") for a in store.audit.entries(limit=100_000)], ensure_ascii=False)
        errors = json.dumps([r.last_error for r in store.raw.all()], ensure_ascii=False)
    log = serve.stderr()

    # The numbers the forms really hold (the samples carry a dozen mobiles and ID numbers each).
    text = json.dumps([d.dossier for d in dossiers if d], ensure_ascii=False)
    numbers = set(MOBILE.findall(text)) | set(ID_NUMBER.findall(text))
    assert len(numbers) >= 20
    assert " DEBUG " in log  # -v really logged in detail
    for number in numbers:
        assert number not in log, f"{number[:3]}… in the service log"
        assert number not in audit, f"{number[:3]}… in the audit log"
        assert number not in errors
