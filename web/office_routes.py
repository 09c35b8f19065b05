"""The office's own pages: 联系人 (the units' contacts), 待确认 (mails with no unit yet), 群发 (a
bulk message to the units in a state), the notes on a unit page and its downloads (the unit's
materials as one .zip, each stored file on its own).

Each page only calls the one home of its action (nomdesk.contacts, the desk's assign, reject and
add_note, nomdesk.broadcast) and says what happened, as the store has it once the action is done.
The routes are the dashboard's (`web.routes` passes its route class, login dependency and page
renderer in): behind the office login, every POST checks the session's CSRF token, errors are
Chinese pages.

No `from __future__ import annotations` here: FastAPI must see the route signatures' annotations
as objects, and `User` is the dashboard's, passed in.
"""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from config.masking import mask_phone
from intake.contact_sheet import CONTACT_TEMPLATE_FILE, contacts_template_xlsx
from nomdesk import contacts as office_contacts
from nomdesk.broadcast import CHANNEL_ZH, STATES, preview_broadcast, send_broadcast
from nomdesk.contacts import ContactImport
from nomdesk.service import Service
from nomdesk.unit_links_office import reissue_link, revoke_link
from schedule.status import STATE_ZH, collect_status
from storage.models import ContactView, WaitingMail
from storage.tables import RawState
from web import auth, exports
from web.office_views import contacts_page, waiting_groups
from web.views import local, unit_file

CONTACTS_DONE_ZH = {
    "added": "已添加联系人。",
    "updated": "已保存联系人的修改。",
    "removed": "已删除联系人，其邮箱今后不再视为该单位的地址。",
    "link_revoked": "已作废该联系人的材料页面链接，原链接今后打不开；需要时请点“重新生成链接”。",
}
WAITING_DONE_ZH = {
    "assigned": "已将{mails}归入{unit}并受理。",
    "checking": "已将{mails}归入{unit}，系统正在检查材料，请稍后在单位页面查看结果。",
    "quarantined": "已将{mails}归入{unit}，但材料处理出错，已转人工处理（原始邮件已完整保存）。",
    "rejected": "已将{mails}标记为不是报送材料，已移出待确认（原邮件仍保存在系统中）。",
}
# What became of the sender after an assignment, as the store says once it is done (the desk
# registers her only when her address is deliverable and nobody's yet): code -> what the page says.
SENDER_ZH = {
    "registered": "发件人已登记为{unit}的联系人，今后来信直接受理，回执发给发件人。",
    "other": "发件人的邮箱已是{owner}的联系人，未登记为{unit}的联系人：此人今后的来信仍按{owner}受理，"
    "如有误请到联系人页面修改。",
    "office": "发件人的邮箱是省级办公室自己的地址，未登记为单位联系人。",
    "skipped": "按您的选择，发件人未登记为联系人，此人今后来信仍会进入待确认。",
    "refused": "发件人的地址无法回信（或是本系统自己的地址），未登记为联系人，此人今后来信仍会进入待确认。",
}
RECEIPT_ZH = {  # where the receipt goes when she is not the unit's contact (never to her)
    True: "回执发给该单位已登记的联系人。",
    False: "该单位没有登记邮箱的联系人，回执未发出，请电话告知。",
}
MAX_SHEET_BYTES = 5 << 20  # a contact sheet is a few kilobytes; anything near this is not one

Page = Callable[..., Response]


def create_office_router(
    service: Service,
    page: Page,
    User: Any,  # the dashboard's login dependency (`Annotated[WebUser, Depends(...)]`), used as an annotation
    route_class: type[APIRoute],
    unit_or_404: Callable[[str], str],
    wait_seconds: float,
) -> APIRouter:
    store, campaign, desk = service.store, service.campaign, service.desk
    router = APIRouter(route_class=route_class)
    wecom_available = service.settings.wecom_api_configured

    # ---- 联系人 ------------------------------------------------------------------------------

    def render_contacts(
        request: Request,
        who: auth.WebUser,
        *,
        unit: str = "",
        status: int = 200,
        error: str | None = None,
        done: str | None = None,
        form: dict[str, str] | None = None,
        imported: ContactImport | None = None,
        new_link: tuple[ContactView, str] | None = None,
    ) -> Response:
        data = contacts_page(store, unit if unit in {u.name for u in store.directory.units()} else "")
        return page(
            request,
            "contacts.html",
            who,
            status,
            data=data,
            error=error,
            done=done,
            form=form or {},
            imported=imported,
            new_link=new_link,  # shown once, on the answer to the reissue itself (never in a URL)
            links_on=bool(service.settings.public_url),
            local=lambda value: local(value, campaign),
        )

    @router.get("/contacts", response_class=HTMLResponse)
    def contacts(request: Request, who: User, unit: str = "", done: str = "") -> Response:
        return render_contacts(request, who, unit=unit, done=CONTACTS_DONE_ZH.get(done))

    @router.post("/contacts/add")
    def add_contact(
        request: Request,
        who: User,
        csrf: Annotated[str, Form()] = "",
        unit: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        phone: Annotated[str, Form()] = "",
        emails: Annotated[str, Form()] = "",
        wecom_user: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        form = {"unit": unit, "name": name, "role": role, "phone": phone, "emails": emails, "wecom_user": wecom_user}
        try:
            added = office_contacts.add_contact(
                store,
                campaign,
                unit,
                name,
                emails=[emails],  # nomdesk.contacts reads the addresses however they are separated
                phone=phone,
                wecom_user=wecom_user,
                role=role,
                actor=who.actor,
            )
        except ValueError as exc:
            return render_contacts(request, who, status=400, error=str(exc), form=form)
        return RedirectResponse(_contacts_url(added.unit_name, "added"), status_code=303)

    @router.post("/contacts/{contact_id}/edit")
    def edit_contact(
        request: Request,
        who: User,
        contact_id: int,
        csrf: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        phone: Annotated[str, Form()] = "",
        emails: Annotated[str, Form()] = "",
        wecom_user: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        contact = _contact_or_404(contact_id)
        if contact.phone and phone.strip() == mask_phone(contact.phone):
            phone = contact.phone  # the form shows the phone masked: left as shown, it stays as it is
        try:
            changed = office_contacts.update_contact(
                store,
                campaign,
                contact_id,
                name=name,
                emails=[emails],  # nomdesk.contacts reads the addresses however they are separated
                phone=phone,
                wecom_user=wecom_user,
                role=role,
                actor=who.actor,
            )
        except ValueError as exc:
            return render_contacts(request, who, unit=contact.unit_name or "", status=400, error=str(exc))
        return RedirectResponse(_contacts_url(changed.unit_name, "updated"), status_code=303)

    @router.post("/contacts/{contact_id}/remove")
    def remove_contact(who: User, contact_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        auth.check_csrf(who, csrf)
        contact = _contact_or_404(contact_id)
        office_contacts.remove_contact(store, contact_id, actor=who.actor)
        return RedirectResponse(_contacts_url(contact.unit_name, "removed"), status_code=303)

    @router.post("/contacts/{contact_id}/link/revoke")
    def revoke_contact_link(who: User, contact_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        auth.check_csrf(who, csrf)
        contact = _contact_or_404(contact_id)
        revoke_link(store, campaign, service.settings, contact_id, actor=who.actor)
        return RedirectResponse(_contacts_url(contact.unit_name, "link_revoked"), status_code=303)

    @router.post("/contacts/{contact_id}/link/reissue", response_class=HTMLResponse)
    def reissue_contact_link(
        request: Request, who: User, contact_id: int, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        auth.check_csrf(who, csrf)
        contact = _contact_or_404(contact_id)
        unit = contact.unit_name or ""
        try:
            url = reissue_link(store, campaign, service.settings, contact_id, actor=who.actor)
        except ValueError as exc:
            return render_contacts(request, who, unit=unit, status=400, error=str(exc))
        shown = render_contacts(request, who, unit=unit, new_link=(contact, url))
        shown.headers["Cache-Control"] = "no-store"  # the link opens the unit's page: kept in no cache
        return shown

    def _contact_or_404(contact_id: int) -> ContactView:
        contact = store.contacts.get(contact_id)
        if contact is None or contact.is_office:
            raise HTTPException(status_code=404, detail="没有这个联系人（可能已被删除），请刷新页面")
        return contact

    @router.post("/contacts/import", response_class=HTMLResponse)
    def import_contacts(
        request: Request,
        who: User,
        csrf: Annotated[str, Form()] = "",
        sheet: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        auth.check_csrf(who, csrf)
        if sheet is None or not sheet.filename:
            return render_contacts(request, who, status=400, error="请选择要导入的联系人表（.xlsx）")
        data = sheet.file.read(MAX_SHEET_BYTES + 1)
        if len(data) > MAX_SHEET_BYTES:
            error = f"文件超过 {MAX_SHEET_BYTES >> 20} MB，不像联系人表，请检查后重新选择"
            return render_contacts(request, who, status=400, error=error)
        try:
            result = office_contacts.import_contacts(store, campaign, data, actor=who.actor, filename=sheet.filename)
        except ValueError as exc:
            return render_contacts(request, who, status=400, error=str(exc))
        return render_contacts(request, who, imported=result)

    @router.get("/contacts/export.xlsx")
    def export_contacts(who: User) -> Response:
        data = office_contacts.export_contacts(store, campaign)
        return exports.xlsx_response(data, f"联系人-{desk.clock().astimezone(campaign.tz):%Y%m%d}.xlsx")

    @router.get("/contacts/template.xlsx")
    def contacts_template(who: User) -> Response:
        return exports.xlsx_response(contacts_template_xlsx([u.name for u in campaign.units]), CONTACT_TEMPLATE_FILE)

    # ---- 待确认 ------------------------------------------------------------------------------

    def render_waiting(
        request: Request, who: auth.WebUser, *, status: int = 200, error: str | None = None, done: str | None = None
    ) -> Response:
        units = [u.name for u in store.directory.units()]
        groups = waiting_groups(store, campaign)
        return page(
            request,
            "waiting.html",
            who,
            status,
            groups=groups,
            total=sum(len(g.items) for g in groups),
            units=units,
            error=error,
            done=done,
        )

    @router.get("/waiting", response_class=HTMLResponse)
    def waiting(
        request: Request, who: User, done: str = "", unit: str = "", n: int = 1, sender: str = "", owner: str = ""
    ) -> Response:
        known = {u.name for u in store.directory.units()}
        message = None
        if done in WAITING_DONE_ZH:
            shown = f"“{unit}”" if unit in known else "所选单位"
            mails = "邮件" if n <= 1 else f"发件人的 {n} 封邮件"
            message = WAITING_DONE_ZH[done].format(mails=mails, unit=shown)
            if done != "rejected" and sender in SENDER_ZH and (sender != "other" or owner in known):
                message += SENDER_ZH[sender].format(unit=shown, owner=f"“{owner}”")
                if sender != "registered" and unit in known:
                    message += RECEIPT_ZH[any(c.emails for c in store.contacts.list(unit))]
        return render_waiting(request, who, done=message)

    @router.post("/waiting/{submission_id}/assign")
    def assign(
        request: Request,
        who: User,
        submission_id: int,
        csrf: Annotated[str, Form()] = "",
        unit: Annotated[str, Form()] = "",
        as_contact: Annotated[str, Form()] = "",  # 同时登记为联系人
    ) -> Response:
        auth.check_csrf(who, csrf)
        if unit not in {u.name for u in store.directory.units()}:
            return render_waiting(request, who, status=400, error="请从名单中选择这封邮件所属的单位")
        mail, hers = _waiting_or_404(submission_id)
        try:
            record = desk.assign(submission_id, unit, actor=who.actor, register=bool(as_contact))
        except ValueError as exc:
            return render_waiting(request, who, status=400, error=str(exc))
        taken = desk.await_processed(record.id, wait_seconds)
        done = "checking" if taken is None else "quarantined" if taken.state == RawState.QUARANTINED else "assigned"
        sender, owner = _sender_after_assign(mail.sender, unit, register=bool(as_contact))
        query = urlencode({"done": done, "unit": unit, "n": len(hers), "sender": sender, "owner": owner})
        return RedirectResponse(f"/waiting?{query}", status_code=303)

    def _sender_after_assign(address: str, unit: str, *, register: bool) -> tuple[str, str]:
        """What the sender now is, read back from the store (not from the box the office ticked):
        a SENDER_ZH code, and the unit her address belongs to when it is another's."""
        owner = store.contacts.owner_of_address(address) if address else None
        if owner is None:
            return ("refused" if register else "skipped"), ""
        if owner.is_office:
            return "office", ""
        if owner.unit_name == unit:
            return "registered", ""
        return "other", owner.unit_name or ""

    @router.post("/waiting/{submission_id}/reject")
    def reject(
        request: Request,
        who: User,
        submission_id: int,
        csrf: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        also: Annotated[list[int], Form()] = [],  # noqa: B006 - the sender's other mails on the card
    ) -> Response:
        auth.check_csrf(who, csrf)
        _, hers = _waiting_or_404(submission_id)
        # Her other mails the card listed that still wait (one may have been handled meanwhile); a
        # mail of hers that came after the page was shown is left for the office to see.
        listed = set(also) - {submission_id}
        ids = [submission_id, *(m.submission_id for m in hers if m.submission_id in listed)]
        try:
            for each in ids:
                desk.reject(each, actor=who.actor, reason=reason.strip()[:200])
        except ValueError as exc:
            return render_waiting(request, who, status=400, error=str(exc))
        return RedirectResponse(f"/waiting?done=rejected&n={len(ids)}", status_code=303)

    def _waiting_or_404(submission_id: int) -> tuple[WaitingMail, list[WaitingMail]]:
        """The waiting mail, and every waiting mail of its sender (itself included: `assign` takes
        them all)."""
        queue = store.submissions.waiting_mails()
        found = next((m for m in queue if m.submission_id == submission_id), None)
        if found is None:
            raise HTTPException(status_code=404, detail="这封邮件已不在待确认中（可能已被他人处理），请刷新页面")
        return found, [m for m in queue if m is found or (found.sender and m.sender == found.sender)]

    # ---- 群发 --------------------------------------------------------------------------------

    def render_broadcast(request: Request, who: auth.WebUser, status: int = 200, **context: object) -> Response:
        form = {"states": ["nothing"], "channels": ["mail"], "subject": "", "text": ""}
        form.update(context.pop("form", None) or {})
        return page(
            request,
            "broadcast.html",
            who,
            status,
            form=form,
            states={s.value: STATE_ZH[s] for s in STATES},
            channels=CHANNEL_ZH,
            wecom_available=wecom_available,
            local=lambda value: local(value, campaign),
            **{"preview": None, "result": None, "error": None, **context},
        )

    def _channels(channels: list[str]) -> set[str]:
        if "wecom" in channels and not wecom_available:
            raise ValueError("企业微信应用尚未配置，本次只能发邮件")
        return set(channels)

    @router.get("/broadcast", response_class=HTMLResponse)
    def broadcast(request: Request, who: User) -> Response:
        return render_broadcast(request, who)

    @router.post("/broadcast/preview", response_class=HTMLResponse)
    def broadcast_preview(
        request: Request,
        who: User,
        csrf: Annotated[str, Form()] = "",
        states: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
        channels: Annotated[list[str], Form()] = [],  # noqa: B006
        subject: Annotated[str, Form()] = "",
        text: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        form = {"states": states, "channels": channels, "subject": subject, "text": text}
        try:
            preview = preview_broadcast(
                store,
                campaign,
                states=set(states),
                subject=subject,
                text=text,
                channels=_channels(channels),
                now=desk.clock(),
            )
        except ValueError as exc:
            return render_broadcast(request, who, 400, form=form, error=str(exc))
        return render_broadcast(request, who, form=form, preview=preview)

    @router.post("/broadcast/send", response_class=HTMLResponse)
    def broadcast_send(
        request: Request,
        who: User,
        csrf: Annotated[str, Form()] = "",
        token: Annotated[str, Form()] = "",
        states: Annotated[list[str], Form()] = [],  # noqa: B006
        channels: Annotated[list[str], Form()] = [],  # noqa: B006
        subject: Annotated[str, Form()] = "",
        text: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        form = {"states": states, "channels": channels, "subject": subject, "text": text}
        try:
            result = send_broadcast(
                store,
                campaign,
                desk.replies,
                token=token,
                states=set(states),
                subject=subject,
                text=text,
                channels=_channels(channels),
                actor=who.actor,
                now=desk.clock(),
            )
        except ValueError as exc:
            return render_broadcast(request, who, 400, form=form, error=str(exc))
        return render_broadcast(request, who, form=form, result=result)

    # ---- notes on a unit ---------------------------------------------------------------------

    @router.post("/units/{name}/notes")
    def add_note(
        who: User,
        name: str,
        csrf: Annotated[str, Form()] = "",
        text: Annotated[str, Form()] = "",
        nominee: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        unit_or_404(name)
        try:
            desk.add_note(name, text, actor=who.actor, nominee=nominee.strip()[:100] or None)  # the one home
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return RedirectResponse(f"/units/{quote(name, safe='')}?done=note#notes", status_code=303)

    # ---- a unit's materials: all as one .zip, or one stored file ------------------------------
    # Behind the office login like every dashboard page (unit contacts have no login: OfficeUser);
    # a file is served only under the unit whose counted submission holds it (web.views.unit_file).

    @router.get("/units/{name}/materials.zip")
    def unit_materials_zip(who: User, name: str) -> Response:
        unit_or_404(name)
        status = next(iter(collect_status(store, campaign, known_only=False, unit=name)), None)
        if status is None or status.dossier is None:
            raise HTTPException(status_code=404, detail="该单位尚无材料")
        return exports.unit_zip_response(store, status)

    @router.get("/units/{name}/files/{file_id}/download")
    def stored_file(who: User, name: str, file_id: int) -> Response:
        record = unit_file(store, unit_or_404(name), file_id)
        if record is None:
            raise HTTPException(status_code=404, detail="没有这个文件")
        return exports.stored_file_response(store, record)

    return router


def _contacts_url(unit: str | None, done: str) -> str:
    return "/contacts?" + urlencode({"unit": unit or "", "done": done})
