"""Short letters to senders whose mail gets no receipt: a mail the desk could not process, and a
sender it does not know yet (asked who she is, told her word went to the office, told her mails
wait). They say nothing about any dossier: the sender is not known to be anyone's contact.
"""

from __future__ import annotations

import datetime as dt
import html

from config.campaign import Campaign
from config.masking import mask_phone
from intake.sender_claim import SenderClaim
from notify.compose import Reply, days_left


def compose_quarantine_ack(campaign: Campaign, *, now: dt.datetime) -> Reply:
    """The sender's answer when the desk could not process a mail: it is kept, a person looks at it."""
    paragraphs = [
        "您的邮件已收到并完整保存，但系统在自动检查材料时遇到问题，已转省级办公室人工处理，"
        "处理后将另行回复检查结果。您无需重复发送。"
    ]
    return _sender_letter(campaign, "【材料受理回执】已转人工处理", paragraphs, now=now)


def compose_unknown_sender_reply(campaign: Campaign, *, now: dt.datetime) -> Reply:
    """UNIT_UNKNOWN's polite reply: no data about anyone's dossier, just how to identify."""
    paragraphs = [
        "已收到您的邮件，但您的邮箱尚未登记为任何推荐单位的联系人，系统暂时无法确认材料所属单位，"
        "因此未对材料进行反馈。省级办公室已收到通知，将尽快与您核实。\n"
        "请在回复中注明：推荐单位全称、联系人姓名和联系电话。"
    ]
    return _sender_letter(campaign, "【材料受理回执】请确认推荐单位", paragraphs, now=now)


def _sender_letter(campaign: Campaign, subject: str, paragraphs: list[str], *, now: dt.datetime) -> Reply:
    """A short letter to a sender (not known yet, or whose mail waits for a person): the paragraphs,
    the deadline, the office."""
    text = (
        "您好！\n\n" + "".join(f"{p}\n\n" for p in paragraphs if p) + f"{days_left(campaign, now)}\n\n"
        f"{campaign.office.name}\n联系人：{campaign.office.contact}　电话：{campaign.office.phone}\n"
        "（本邮件由材料受理系统自动发送）\n"
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
    return Reply(subject=subject, text=text, html=body)


def _as_given(claim: SenderClaim) -> str:
    """ "单位 梅河口市教育局，联系人 王丽（电话 139****5678）": what she wrote, her phone masked (the
    letter is kept in the outbox table, and she knows her number)."""
    who = f"，联系人 {claim.name}" if claim.name else ""
    phone = f"（电话 {mask_phone(claim.phone)}）" if claim.phone else ""
    return f"单位 {claim.unit}{who}{phone}"


HOW_TO_IDENTIFY = "请回复本邮件，注明：推荐单位全称、联系人姓名和联系电话。"


def compose_claim_received_reply(campaign: Campaign, claim: SenderClaim, *, waiting: int, now: dt.datetime) -> Reply:
    """An unknown sender said who she is: it went to the office, her mails wait, nothing to resend."""
    missing = "" if claim.name and claim.phone else "为便于核实，请回复联系人姓名和联系电话。"
    paragraphs = [
        "已收到您的邮件。您的邮箱尚未登记为推荐单位的联系人，系统暂未对材料进行检查反馈。",
        f"已收到您的说明：{_as_given(claim)}，已提交省级办公室确认。"
        "确认后，您此前发送的材料将自动检查并回复，今后来件无需再等待确认。",
        f"您目前共有 {waiting} 封邮件等待确认，均已完整保存，无需重复发送。{missing}",
        f"如单位有误，{HOW_TO_IDENTIFY}",
    ]
    return _sender_letter(campaign, "【材料受理回执】已收到单位说明，等待省级办公室确认", paragraphs, now=now)


def compose_still_waiting_reply(
    campaign: Campaign, *, waiting: int, claimed: SenderClaim | None, now: dt.datetime
) -> Reply:
    """Another mail from a sender still waiting for the office: kept with the others; how to identify
    while she has not said who she is (never the same letter again)."""
    if claimed is not None:
        second = (
            f"您此前已说明：{_as_given(claimed)}，正在等待省级办公室确认。确认后，这些邮件中的材料将自动检查并回复。"
        )
    else:
        second = (
            "您的邮箱尚未登记为推荐单位的联系人。为尽快确认，"
            + HOW_TO_IDENTIFY
            + "例如：“单位：××市教育局　联系人：×××　电话：×××××××××××”。"
        )
    paragraphs = [
        f"已收到您的邮件，已与您此前的邮件一同完整保存（共 {waiting} 封），"
        "正在等待省级办公室确认所属单位，无需重复发送。",
        second,
    ]
    return _sender_letter(campaign, "【材料受理回执】邮件已保存，等待省级办公室确认", paragraphs, now=now)


def compose_mail_in_your_name(campaign: Campaign, *, address: str, when: str, now: dt.datetime) -> Reply:
    """To a unit's registered contacts (never to the sender): a mail with her address as its From
    failed sender authentication and waits for the office. Nothing of that mail is quoted: it may
    be a forger's, and its words must not reach her under the desk's name."""
    paragraphs = [
        f"{when}，本系统收到一封以您的邮箱（{address}）名义发出的邮件，但该邮件未通过发件人验证"
        "（发件邮箱所在服务器的 DKIM/SPF/DMARC 检查），可能是他人冒用您的邮箱地址发出的。",
        "为保护贵单位已报送的材料，这封邮件没有并入贵单位的材料，已暂存，等待省级办公室确认；"
        "贵单位已报送的材料不受影响。",
        "如这封邮件是您本人发送的，请告知省级办公室，确认后即会受理；"
        "如非您本人发送，也请告知省级办公室，办公室将不予受理。",
    ]
    return _sender_letter(campaign, "【材料受理提醒】有一封以您邮箱名义发出的邮件待确认", paragraphs, now=now)
