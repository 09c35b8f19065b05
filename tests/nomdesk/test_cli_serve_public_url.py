"""`nomdesk serve` without NOMDESK_PUBLIC_URL says once, at start, that units get no page link (so an
operator who forgot it learns why receipts carry none); with it, nothing of the kind; a value that
is no address units could open is refused before anything starts."""

from __future__ import annotations

from pathlib import Path

from tests.support.service import ServeProcess, nomdesk

WARNING = "NOMDESK_PUBLIC_URL is not set: units get no page link"


def test_serve_warns_once_without_a_public_url(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "bare") as serve:
        bare = serve.stderr()
    assert bare.count(WARNING) == 1 and "WARNING" in next(ln for ln in bare.splitlines() if WARNING in ln)
    with ServeProcess(tmp_path / "public", env={"NOMDESK_PUBLIC_URL": "https://nomdesk.jyt.jl.gov.cn/"}) as serve:
        public = serve.stderr()
    assert WARNING not in public and "已启动" in public


def test_a_public_url_without_scheme_is_refused(tmp_path: Path) -> None:
    done = nomdesk("serve", "--data-dir", tmp_path / "var", env={"NOMDESK_PUBLIC_URL": "nomdesk.jyt.jl.gov.cn"})
    assert done.returncode != 0 and "已启动" not in done.stderr
    assert done.returncode == 2 and "NOMDESK_PUBLIC_URL：应是单位能打开的完整网址" in done.stderr
