"""The office's own pages: 联系人 (the units' contacts), 待确认 (mails with no unit yet), 群发 (a
bulk message to the units in a state) and the notes on a unit page.

Each page only calls the one home of its action (nomdesk.contacts, the desk's assign and reject,
nomdesk.broadcast, store.state.add_note) and says what happened. The routes are the dashboard's
(`web.routes` passes its route class, login dependency and page renderer in): behind the office
login, every POST checks the session's CSRF token, errors are Chinese pages.

No `from __future__ import annotations` here: FastAPI must see the route signatures' annotations
as objects, and `User` is the dashboard's, passed in.
"""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from intake.contact_sheet import CONTACT_TEMPLATE_FILE, contacts_template_xlsx
from nomdesk import contacts as office_contacts
from nomdesk.broadcast import CHANNEL_ZH, STATES, preview_broadcast, send_broadcast
from nomdesk.contacts import ContactImport
from nomdesk.service import Service
from schedule.status import STATE_ZH
from storage.models import ContactView
from storage.tables import RawState
from web import auth, exports
from web.office_views import contacts_page, waiting_views
from web.views import local

CONTACTS_DONE_ZH = {
    "added": "已添加联系人。",
    "updated": "已保存联系人的修改。",
    "removed": "已删除联系人，其邮箱今后不再视为该单位的地址。",
}
WAITING_DONE_ZH = {
    "assigned": "已将邮件归入{unit}并受理，受理回执随后发给发件人。",
    "checking": "已将邮件归入{unit}，系统正在检查材料，请稍后在单位页面查看结果。",
    "quarantined": "已将邮件归入{unit}，但材料处理出错，已转人工处理（原始邮件已完整保存）。",
    "rejected": "已标记为不是报送材料，该邮件已移出待确认（原邮件仍保存在系统中）。",
}
REGISTERED_ZH = "发件人已登记为{unit}的联系人，今后来信直接受理。"
MAX_SHEET_BYTES = 5 << 20  # a contact sheet is a few kilobytes; anything near this is not one
NOTE_MAX_CHARS = 2000

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
        return page(
            request,
            "waiting.html",
            who,
            status,
            mails=waiting_views(store, campaign),
            units=units,
            error=error,
            done=done,
        )

    @router.get("/waiting", response_class=HTMLResponse)
    def waiting(request: Request, who: User, done: str = "", unit: str = "", registered: int = 0) -> Response:
        known = {u.name for u in store.directory.units()}
        message = None
        if done in WAITING_DONE_ZH:
            shown = f"“{unit}”" if unit in known else ""
            message = WAITING_DONE_ZH[done].format(unit=shown or "所选单位")
            if registered and shown and done != "rejected":
                message += REGISTERED_ZH.format(unit=shown)
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
        _waiting_or_404(submission_id)
        try:
            record = desk.assign(submission_id, unit, actor=who.actor, register=bool(as_contact))
        except ValueError as exc:
            return render_waiting(request, who, status=400, error=str(exc))
        taken = desk.await_processed(record.id, wait_seconds)
        done = "checking" if taken is None else "quarantined" if taken.state == RawState.QUARANTINED else "assigned"
        query = urlencode({"done": done, "unit": unit, "registered": int(bool(as_contact))})
        return RedirectResponse(f"/waiting?{query}", status_code=303)

    @router.post("/waiting/{submission_id}/reject")
    def reject(
        request: Request,
        who: User,
        submission_id: int,
        csrf: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> Response:
        auth.check_csrf(who, csrf)
        _waiting_or_404(submission_id)
        try:
            desk.reject(submission_id, actor=who.actor, reason=reason.strip()[:200])
        except ValueError as exc:
            return render_waiting(request, who, status=400, error=str(exc))
        return RedirectResponse("/waiting?done=rejected", status_code=303)

    def _waiting_or_404(submission_id: int) -> None:
        if all(row.id != submission_id for row in store.submissions.waiting()):
            raise HTTPException(status_code=404, detail="这封邮件已不在待确认中（可能已被他人处理），请刷新页面")

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
        if len(text) > NOTE_MAX_CHARS:
            raise HTTPException(status_code=400, detail=f"备注过长（最多 {NOTE_MAX_CHARS} 字），请精简后再保存")
        try:
            store.state.add_note(name, text, author=who.actor, nominee=nominee.strip()[:100] or None)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return RedirectResponse(f"/units/{quote(name, safe='')}?done=note#notes", status_code=303)

    return router


def _contacts_url(unit: str | None, done: str) -> str:
    return "/contacts?" + urlencode({"unit": unit or "", "done": done})
