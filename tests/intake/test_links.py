"""Links sent instead of attachments (QQ 超大附件, 网盘, 奶牛快传, ...) and links that are not material."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.links import find_links
from intake.source import read_source
from tests.support.mail import build_mail

QQ = "https://wx.mail.qq.com/ftn/download?func=3&key=a1b2c3d4e5&code=7f8e9d"
QQ_OLD = "http://mail.qq.com/cgi-bin/ftnExs_download?k=5f3a2b&t=exs_ftn_download&code=1c2d"
NETEASE = "https://mail.163.com/large-attachment-download/index.html?p=X66&file=AbCdEf123"
DASHI_DOWNLOAD = "https://dashi.163.com/html/cloud-attachment-download/index.html?key=5e7Fa0c1d2"
SIGNATURE = (
    "https://dashi.163.com/projects/signature-manager/detail/index.html?ftlId=1&name=%E5%BC%A0%E4%B8%BD"
    "&uid=lsjyj%40163.com&iconUrl=https%3A%2F%2Fmail-online.nosdn.127.net%2Fqiyelogo%2FdefaultAvatar.png"
    "&items=%5B%22%E9%BE%99%E5%B1%B1%E5%8C%BA%E6%95%99%E8%82%B2%E5%B1%80%22%5D"
)
COW = "https://cowtransfer.com/s/8a3f2c1d9e4b5a"
WETRANSFER = "https://we.tl/t-Zx81KqPq3b"
WENSHUSHU = "https://www.wenshushu.cn/f/7w0pq2x9kd1"
BAIDU = "https://pan.baidu.com/s/1AbCdEfGhIjKlMnOpQ"
ARTICLE = "https://mp.weixin.qq.com/s/4XqPz9wZsLmBvT2nRkYcHg"


def links(campaign: Campaign, plain: list[str], html: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """url -> (text around it, extraction code)."""
    return {k.url: (k.text, k.code) for k in find_links(campaign.links, plain, html or [])}


def test_qq_link_in_plain_text(campaign: Campaign) -> None:
    text = (
        "吴老师好：\n视频较大，用超大附件发送：\n"
        f"朴英子宣传片.mp4 (210.5M, 2021年9月4日 16:05 到期)\n下载地址：{QQ}。请查收"
    )
    found = find_links(campaign.links, [text], [], submission=2)
    assert [(link.url, link.host, link.submission) for link in found] == [(QQ, "wx.mail.qq.com", 2)]
    assert "朴英子宣传片.mp4 (210.5M, 2021年9月4日 16:05 到期)" in found[0].text


def test_old_qq_link(campaign: Campaign) -> None:
    found = find_links(campaign.links, [f"附件：{QQ_OLD}"], [])
    assert [link.url for link in found] == [QQ_OLD]
    assert found[0].host == "mail.qq.com"


def test_163_link_in_html_with_its_size_and_expiry(campaign: Campaign) -> None:
    html = (
        "<div>从网易163邮箱发来的超大附件</div>"
        "<div>阿里郎宣传视频.mp4 (80.96M, 2026年8月17日 0:49 到期)</div>"
        f'<div><a href="{NETEASE.replace("&", "&amp;")}">下载</a></div>'
    )
    found = find_links(campaign.links, [], [html])
    assert [(link.url, link.host) for link in found] == [(NETEASE, "mail.163.com")]
    assert "(80.96M, 2026年8月17日 0:49 到期)" in found[0].text


def test_same_link_in_text_and_html_is_listed_once(campaign: Campaign) -> None:
    html = f'<p>材料下载</p><a href="{QQ}">{QQ}</a>'
    assert len(find_links(campaign.links, [f"材料下载\n{QQ}"], [html])) == 1


def test_ordinary_links_are_not_large_files(campaign: Campaign) -> None:
    text = "通知见 http://jyt.jl.gov.cn/zwgk/tzgg/ 和 https://mail.qq.com/ 首页"
    assert links(campaign, [text], ['<a href="https://www.163.com/">网易</a>']) == {}


def test_mail_master_signature_is_not_material_but_its_download_path_is(campaign: Campaign) -> None:
    """网易邮箱大师 puts a dashi.163.com signature in every mail; only its cloud-attachment path is a file."""
    html = (
        "<div>吴老师：附件为龙山区推荐材料，视频见下方超大附件。</div>"
        f'<div><a href="{DASHI_DOWNLOAD}">下载</a> 龙山社区大学宣传片.mp4 (312.4M)</div>'
        f'<div><a href="{SIGNATURE.replace("&", "&amp;")}"><table><tr><td>张丽</td></tr>'
        "<tr><td>龙山区教育局 附件材料联系人</td></tr></table></a></div>"
        '<div>签名由<a href="https://mail.163.com/dashi/dlpro.html?from=mail81">网易邮箱大师</a>定制</div>'
    )
    plain = f"吴老师：附件为龙山区推荐材料。\n\n张丽\n龙山区教育局\n{SIGNATURE}\n发自网易邮箱大师"
    found = links(campaign, [plain], [html])
    assert list(found) == [DASHI_DOWNLOAD]
    assert "龙山社区大学宣传片.mp4 (312.4M)" in found[DASHI_DOWNLOAD][0]


@pytest.mark.parametrize("url", [COW, WETRANSFER, WENSHUSHU], ids=["奶牛快传", "WeTransfer", "文叔叔"])
def test_file_transfer_services_are_material_without_any_words(campaign: Campaign, url: str) -> None:
    assert list(links(campaign, [f"吴老师好\n{url}\n谢谢"])) == [url]


def test_cloud_drive_link_keeps_its_extraction_code_from_the_next_line(campaign: Campaign) -> None:
    text = f"项目视频：\n链接：{BAIDU}\n提取码：x7k2\n--来自百度网盘超级会员V3的分享"
    assert links(campaign, [text]) == {BAIDU: ("项目视频： 链接 提取码：x7k2", "x7k2")}


def test_code_in_the_url_is_kept(campaign: Campaign) -> None:
    url = BAIDU + "?pwd=q9w8"
    assert links(campaign, [f"视频：{url}"])[url][1] == "q9w8"


def test_any_link_offered_by_the_words_around_it(campaign: Campaign) -> None:
    """A host no list knows (a school's own file server) is material when its line offers it."""
    own_server = "http://files.lsccu.edu.cn/share/f/3kd92"
    html_only = "https://share.example-box.cn/d/88a1"
    text = f"宣传视频下载：{own_server} 提取码：ab12\n"
    html = f'<p>项目材料</p><p><a href="{html_only}">点此下载视频</a></p>'
    found = links(campaign, [text], [html])
    assert found[own_server] == ("宣传视频下载： 提取码：ab12", "ab12")
    assert html_only in found


def test_code_on_the_next_line_makes_a_link_material(campaign: Campaign) -> None:
    url = "https://box.lsccu.edu.cn/s/Qm81"
    assert links(campaign, [f"{url}\n提取码 7d3f"])[url][1] == "7d3f"


def test_articles_and_home_pages_are_not_material_whatever_the_words(campaign: Campaign) -> None:
    text = (
        f"项目事迹报道（含视频）：{ARTICLE}\n"
        "下载学校宣传视频请访问 http://www.lsccu.edu.cn/ 首页\n"
        "附件材料见新闻 https://news.cctv.com/2021/08/12/ARTIabc.shtml\n"
        "附件1推荐表\n学校网站：https://www.lsccu.edu.cn"
    )
    assert links(campaign, [text]) == {}


def test_the_host_lists_are_the_campaigns(campaign: Campaign) -> None:
    """Next year's transfer service is a line of the campaign file, not a code change."""
    url = "https://www.newtransfer.example/abc"
    assert links(campaign, [url]) == {}
    rules = campaign.links.model_copy(update={"file_transfer_hosts": ["newtransfer.example"]})
    assert [k.url for k in find_links(rules, [url], [])] == [url]


def test_links_of_a_mail(tmp_path: Path, campaign: Campaign) -> None:
    raw = build_mail([], text=f"视频见超大附件：\n{NETEASE}\n谢谢", html=f'<a href="{QQ}">下载视频</a>')
    src = tmp_path / "1.eml"
    src.write_bytes(raw)
    sub = read_source(src, tmp_path / "w", campaign, index=1)
    assert sorted(link.url for link in sub.links) == sorted([NETEASE, QQ])
    assert all(link.submission == 1 for link in sub.links)
    assert sub.files == []
