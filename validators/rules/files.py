"""File-level findings (RULES.md "File-level findings").

Intake decides what went wrong with a file (FileProblem: code + Chinese reason); these
rules only turn each problem of their code into a finding, so the reply, the digest and
the JSON all speak of it the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from config.campaign import Campaign
from intake.models import Dossier, FileProblem, ProjectEntry, StarEntry
from validators.base import Finding, Rule, Severity, rule
from validators.rules.common import awaiting_volumes, file_subject, mail_label


class _ProblemRule(Rule):
    about = "file"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for problem in dossier.problems:
            if problem.code != self.code:
                continue
            params = {k: v for k, v in problem.params.items() if k not in ("file", "reason")}
            # A file meant for a nominee's item is that item's problem too ("视频 无法打开✗").
            yield self.finding(
                file_subject(problem.path),
                nominee=problem.nominee,
                item=problem.item,
                file=_in_which_mail(problem, dossier),
                **self.worded(problem),
                reason=problem.reason,
                evidence={"path": problem.path, "submission": problem.submission, **params},
            )

    def worded(self, problem: FileProblem) -> dict[str, Any]:
        """What the rule's template says beyond the file and the reason."""
        return {}


def _in_which_mail(problem: FileProblem, dossier: Dossier) -> str:
    """The file's name, and which mail brought it once there are several: a unit that sent the
    same zip twice must know which copy is broken."""
    if len(dossier.submissions) < 2:
        return problem.path
    sub = next((s for s in dossier.submissions if s.index == problem.submission), None)
    return f"{problem.path}（{mail_label(sub)}中）" if sub is not None else problem.path


@rule
class FileUnreadable(_ProblemRule):
    code = "FILE_UNREADABLE"
    severity = Severity.ERROR
    title_zh = "文件无法打开"
    unusable_zh = "无法打开"
    # The reason says it cannot be opened, and why ("视频文件无法打开", "压缩包已损坏或不完整…").
    message_zh = "文件 {file}：{reason}"
    hint_zh = "请检查文件是否完整（可在本机打开确认），重新导出或压缩后再次发送"


@rule
class FileUnsupported(_ProblemRule):
    code = "FILE_UNSUPPORTED"
    severity = Severity.WARNING
    title_zh = "文件类型无法识别"
    unusable_zh = "格式无法识别"
    message_zh = "文件 {file} 的类型无法自动读取：{reason}"
    # The reason already says what to save it as: the hint says only what happens to the file meanwhile.
    hint_zh = "省级办公室将人工查看该文件；如它是报送材料，请按上面的提示另存后补发"


@rule
class ArchiveEncrypted(_ProblemRule):
    code = "ARCHIVE_ENCRYPTED"
    severity = Severity.ERROR
    title_zh = "压缩包有密码"
    # The reason would only say "设有密码" again (the receipt's file list shows it): not repeated here.
    message_zh = "压缩包 {file} 设有密码，无法解压"
    hint_zh = "请不设密码重新压缩（压缩时不要勾选“加密”或填写密码）后再次发送"


@rule
class ArchiveRejected(_ProblemRule):
    code = "ARCHIVE_REJECTED"
    severity = Severity.ERROR
    title_zh = "压缩包被拒收"
    # The reason is a plain predicate ("内容异常，无法安全解压", "解压后超过 8 GiB，未解压"); the technical
    # detail of an unsafe archive (an entry escaping its folder, a bomb) is in the evidence, for the office.
    message_zh = "压缩包 {file} {reason}"
    hint_zh = (
        "请重新打包后发送：把材料按推荐对象分文件夹，直接压缩成一个 ZIP 包（压缩包里不要再放压缩包）；"
        "材料很多时可分几封邮件发送"
    )


@rule
class ArchivePartMissing(_ProblemRule):
    """A multi-volume archive lacking a volume (intake/volumes.py): what is missing, by file name, so the
    unit sends exactly that; the set is joined and read as soon as it is whole."""

    code = "ARCHIVE_PART_MISSING"
    severity = Severity.ERROR
    title_zh = "分卷压缩包不完整"
    message_zh = "压缩包 {file} 缺少分卷：{missing}"
    hint_zh = "请补发缺少的分卷（文件名不要改动），收到后将自动合并解压；或将全部材料重新压缩成一个压缩包发送"

    def claims(self, entry: StarEntry | ProjectEntry, dossier: Dossier) -> bool:
        """While a set lacks a volume, no nominee's form is "not received": it may be in that volume."""
        return awaiting_volumes(dossier)

    def worded(self, problem: FileProblem) -> dict[str, Any]:
        missing = problem.params.get("missing") or []
        return {"missing": "、".join(str(m) for m in missing) or problem.reason}


@rule
class FileUnmatched(Rule):
    code = "FILE_UNMATCHED"
    about = "file"
    severity = Severity.WARNING
    title_zh = "文件无法归属"
    message_zh = "文件 {file} 无法归属到任何推荐对象"
    hint_zh = "请在文件名或所在文件夹名中写明对应的人员姓名或项目名称"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for f in dossier.unmatched:
            yield self.finding(
                file_subject(f.path), file=f.path, evidence={"kind": str(f.kind), "submission": f.submission}
            )


@rule
class LinkPending(Rule):
    code = "LINK_PENDING"
    about = "file"
    severity = Severity.INFO
    title_zh = "超大附件待下载"
    message_zh = "邮件中含超大附件或网盘、快传下载链接（{host}）{text}{code}，需由省级办公室手动下载"
    hint_zh = "省级办公室下载后会补充核查；如链接有有效期，请确保在有效期内可下载，或改为直接发送附件"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        seen: set[str] = set()
        for link in dossier.links:
            if link.url in seen:
                continue  # a reply quoting the unit's earlier mail carries its link again: one thing to fetch
            seen.add(link.url)
            text = link.text.strip()
            # the code is what the office types to fetch it: named even when the words around it lack it
            code = f"，提取码 {link.code}" if link.code and link.code not in text else ""
            yield self.finding(
                file_subject(link.url),
                host=link.host,
                text=f"“{text}”" if text else "",
                code=code,
                evidence={"url": link.url, "code": link.code, "submission": link.submission},
            )
