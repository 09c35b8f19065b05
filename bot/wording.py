"""What a contact typed, folded to the one spelling the bot's keywords are written in.

Contacts type on phones: traditional characters (a Hong Kong or Taiwan input method, or a
colleague's), full-width letters and digits, stray spaces and punctuation, and the same
question in a dozen colloquial forms ("缺啥", "却什么", "差哪些"). Folding them here lets the
keyword tables of bot/commands.py stay short and be written once, in simplified Chinese.

No converter library is installed and the bot only needs the characters its own keywords
and the office's words use, so the traditional -> simplified map below is a focused table
(checked by tests/bot/test_intent_phrasings.py), not a general converter: a nominee's name is
compared by the intake's own name key, never through this table.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional -> simplified, for the characters of the bot's keywords and answers' vocabulary.
_TRADITIONAL = (
    "麼么 麽么 甚什 補补 報报 資资 紙纸 質质 聯联 係系 電电 話话 幫帮 單单 狀状 態态 進进 審审 結结 時时 "
    "間间 項项 為为 還还 經经 們们 這这 張张 屬属 歸归 視视 頻频 確确 認认 邊边 種种 個个 問问 題题 錯错 "
    "誤误 該该 請请 寫写 發发 給给 郵邮 傳传 號号 碼码 辦办 員员 務务 總总 覽览 況况 樣样 嗎吗 沒没 與与 "
    "東东 錄录 檔档 稱称 處处 據据 學学 習习 網网 陽阳 紅红 長长 書书 從从 過过 後后 對对 會会 應应 麗丽 "
    "雲云 華华 萬万 幾几 兒儿 開开 關关 於于 實实 際际 現现 雙双 齊齐 備备 須须 準准 將将 歡欢 謝谢 繼继 "
    "續续 裡里 裏里 誰谁 級级 別别 夠够 說说 讓让 機机 構构 幹干 協协 調调 諮咨 詢询 熱热 線线 遞递 區区 "
    "鄉乡 鎮镇 縣县 盤盘 鏈链 載载 換换 點点 擊击 卻却 訊讯 絡络 選选 擇择 頁页 餘余 條条 隻只 隊队 檢检 "
    "戶户 帳账 託托 錢钱 舊旧 誌志 歷历 場场 環环 節节 體体 證证 齡龄 參参 剛刚 廣广"
).replace(" ", "")  # pairs: the traditional character, then its simplified one
TRADITIONAL_TO_SIMPLIFIED = str.maketrans(_TRADITIONAL[0::2], _TRADITIONAL[1::2])

# Punctuation and spaces carry no meaning in a command: "缺什么？", "缺 什么", "【缺什么】".
PUNCTUATION = re.compile(r"[\s\u3000,，.。!！?？:：;；、~～\"'“”‘’()（）\[\]【】<>《》「」『』…·・•\-—_/\\|]+")

# Colloquial forms and typos of the bot's questions, to the form its keywords are written in.
# Longer forms first: "却什么" must become "缺什么" before "什么" is looked at.
TYPOS: tuple[tuple[str, str], ...] = (
    ("却什么", "缺什么"),
    ("确什么", "缺什么"),
    ("缺神马", "缺什么"),
    ("缺啥", "缺什么"),
    ("缺些啥", "缺什么"),
    ("差啥", "差什么"),
    ("少啥", "缺什么"),
    ("少什么", "缺什么"),
    ("少哪些", "缺什么"),
    ("差哪些", "差什么"),
    ("缺哪些", "缺什么"),
    ("缺那些", "缺什么"),
    ("啥时候", "什么时候"),
    ("神马", "什么"),
    ("啥", "什么"),
    ("咋", "怎么"),
    ("怎样", "怎么"),  # "怎么样" has no "怎样" in it and stays as typed
    ("如何", "怎么"),
    ("哪儿", "哪里"),
    ("那里", "哪里"),
    ("补报", "补交"),
    ("补发", "补交"),
    ("补充材料", "补交材料"),
    ("补传", "补交"),
    ("补送", "补交"),
    ("重发", "补交"),
    ("重新发", "补交"),
    ("再发", "补交"),
    ("上传", "发送"),
    ("提交", "发送"),
    ("客户服务", "客服"),
    ("真人", "人工"),
)


def fold(text: str) -> str:
    """The text as the keyword tables are written: NFKC (full-width -> half-width), simplified,
    lower case, no spaces or punctuation, colloquial forms and typos replaced."""
    folded = unicodedata.normalize("NFKC", text or "").translate(TRADITIONAL_TO_SIMPLIFIED).lower()
    folded = PUNCTUATION.sub("", folded)
    for wrong, right in TYPOS:
        folded = folded.replace(wrong, right)
    return folded


def simplified(text: str) -> str:
    """The text with full-width forms and traditional characters folded, spaces and punctuation kept:
    what an argument (a unit's or a nominee's name) is read from."""
    return unicodedata.normalize("NFKC", text or "").translate(TRADITIONAL_TO_SIMPLIFIED)
