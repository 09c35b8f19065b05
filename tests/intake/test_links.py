"""Large-file links sent instead of attachments (QQ 超大附件, 163 网易网盘, ...)."""

from __future__ import annotations

from pathlib import Path

from config import Campaign
from intake.links import find_links
from intake.source import read_source
from tests.support.mail import build_mail

QQ = "https://wx.mail.qq.com/ftn/download?func=3&key=a1b2c3d4e5&code=7f8e9d"
QQ_OLD = "http://mail.qq.com/cgi-bin/ftnExs_download?k=5f3a2b&t=exs_ftn_download&code=1c2d"
NETEASE = "https://mail.163.com/large-attachment-download/index.html?p=X66&file=AbCdEf123"


def test_qq_link_in_plain_text(campaign: Campaign) -> None:
    text = (
        "吴老师好：\n视频较大，用超大附件发送：\n"
        f"朴英子宣传片.mp4 (210.5M, 2021年9月4日 16:05 到期)\n下载地址：{QQ}。请查收"
    )
    links = find_links(campaign.large_file_link_patterns, [text], [], submission=2)
    assert [(link.url, link.host, link.submission) for link in links] == [(QQ, "wx.mail.qq.com", 2)]
    assert "朴英子宣传片.mp4 (210.5M, 2021年9月4日 16:05 到期)" in links[0].text


def test_old_qq_link(campaign: Campaign) -> None:
    links = find_links(campaign.large_file_link_patterns, [f"附件：{QQ_OLD}"], [])
    assert [link.url for link in links] == [QQ_OLD]
    assert links[0].host == "mail.qq.com"


def test_163_link_in_html_with_its_size_and_expiry(campaign: Campaign) -> None:
    html = (
        "<div>从网易163邮箱发来的超大附件</div>"
        "<div>阿里郎宣传视频.mp4 (80.96M, 2026年8月17日 0:49 到期)</div>"
        f'<div><a href="{NETEASE.replace("&", "&amp;")}">下载</a></div>'
    )
    links = find_links(campaign.large_file_link_patterns, [], [html])
    assert [(link.url, link.host) for link in links] == [(NETEASE, "mail.163.com")]
    assert "(80.96M, 2026年8月17日 0:49 到期)" in links[0].text


def test_same_link_in_text_and_html_is_listed_once(campaign: Campaign) -> None:
    html = f'<p>材料下载</p><a href="{QQ}">{QQ}</a>'
    links = find_links(campaign.large_file_link_patterns, [f"材料下载\n{QQ}"], [html])
    assert len(links) == 1


def test_ordinary_links_are_not_large_files(campaign: Campaign) -> None:
    text = "通知见 http://jyt.jl.gov.cn/zwgk/tzgg/ 和 https://mail.qq.com/ 首页"
    assert find_links(campaign.large_file_link_patterns, [text], ['<a href="https://www.163.com/">网易</a>']) == []


def test_links_of_a_mail(tmp_path: Path, campaign: Campaign) -> None:
    raw = build_mail([], text=f"视频见超大附件：\n{NETEASE}\n谢谢", html=f'<a href="{QQ}">下载视频</a>')
    src = tmp_path / "1.eml"
    src.write_bytes(raw)
    sub = read_source(src, tmp_path / "w", campaign, index=1)
    assert sorted(link.url for link in sub.links) == sorted([NETEASE, QQ])
    assert all(link.submission == 1 for link in sub.links)
    assert sub.files == []
