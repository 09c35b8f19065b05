"""The WeCom simulator: its own crypto against Tencent's vectors and wechatpy, its API, its callbacks."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import xmltodict
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy.enterprise import WeChatClient
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from tests.support.wecom_sim import DEFAULT_AES_KEY, DEFAULT_CORP_ID, DEFAULT_TOKEN, WeComSimulator, crypto
from tests.support.wecom_sim.serve import BackgroundServer

VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
DECRYPT = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
    "encrypt": (
        "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2"
        "AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8K"
        "ZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCW"
        "jayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
    ),
}


@pytest.fixture(scope="module")
def running_sim() -> Iterator[WeComSimulator]:
    with WeComSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(running_sim: WeComSimulator) -> WeComSimulator:
    running_sim.reset()
    return running_sim


def _token(sim: WeComSimulator) -> str:
    return httpx.get(sim.base_url + "gettoken", params={"corpid": sim.corp_id, "corpsecret": sim.secret}).json()[
        "access_token"
    ]


def _send(sim: WeComSimulator, token: str | None, body: dict) -> dict:
    params = {"access_token": token} if token is not None else {}
    return httpx.post(sim.base_url + "message/send", params=params, json=body).json()


def _text(users: str, content: str) -> dict:
    return {"touser": users, "agentid": 1000002, "msgtype": "text", "text": {"content": content}}


def _text_of(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# ---- crypto ----------------------------------------------------------------------------


def test_tencent_verify_url_vector() -> None:
    sig = crypto.signature(DEFAULT_TOKEN, VERIFY["timestamp"], VERIFY["nonce"], VERIFY["echostr"])
    assert sig == VERIFY["msg_signature"]
    assert crypto.decrypt(VERIFY["echostr"], aes_key=DEFAULT_AES_KEY) == ("1288432023552776189", DEFAULT_CORP_ID)


def test_tencent_decrypt_msg_vector() -> None:
    sig = crypto.signature(DEFAULT_TOKEN, DECRYPT["timestamp"], DECRYPT["nonce"], DECRYPT["encrypt"])
    assert sig == DECRYPT["msg_signature"]
    message, corp_id = crypto.decrypt(DECRYPT["encrypt"], aes_key=DEFAULT_AES_KEY)
    assert corp_id == DEFAULT_CORP_ID
    xml = xmltodict.parse(message)["xml"]
    assert (xml["FromUserName"], xml["MsgType"], xml["Content"]) == ("ChenJiaShun", "text", "你好")
    assert (xml["MsgId"], xml["AgentID"]) == ("1456453720", "1000002")


@pytest.mark.parametrize("message", ["", "a", "你好，长春市教育局", "x" * 11, "表" * 700 + "🎓"])
def test_encrypt_decrypt_round_trip(message: str) -> None:
    enc = crypto.encrypt(message, aes_key=DEFAULT_AES_KEY, corp_id="wwcorp", random16=b"0123456789abcdef")
    raw = base64.b64decode(enc)
    assert len(raw) % 32 == 0  # WeCom pads to 32-byte blocks
    assert crypto.decrypt(enc, aes_key=DEFAULT_AES_KEY) == (message, "wwcorp")


def test_encryption_is_salted_unless_random_is_given() -> None:
    a = crypto.encrypt("同一条消息", aes_key=DEFAULT_AES_KEY, corp_id="c")
    b = crypto.encrypt("同一条消息", aes_key=DEFAULT_AES_KEY, corp_id="c")
    assert a != b
    fixed = b"\x01" * 16
    assert crypto.encrypt("m", aes_key=DEFAULT_AES_KEY, corp_id="c", random16=fixed) == crypto.encrypt(
        "m", aes_key=DEFAULT_AES_KEY, corp_id="c", random16=fixed
    )


def test_wrong_key_or_garbage_is_a_crypto_error() -> None:
    enc = crypto.encrypt("hello", aes_key=DEFAULT_AES_KEY, corp_id="c")
    other_key = "A" * 43
    with pytest.raises(crypto.WeComCryptoError):
        crypto.decrypt(enc, aes_key=other_key)
    with pytest.raises(crypto.WeComCryptoError):
        crypto.decrypt("not base64!!", aes_key=DEFAULT_AES_KEY)


def test_wechatpy_decrypts_what_the_simulator_encrypts() -> None:
    message = "<xml><FromUserName>zhangsan</FromUserName><Content>进度</Content></xml>"
    body, sig = crypto.encrypted_envelope(
        message, DEFAULT_TOKEN, DEFAULT_AES_KEY, DEFAULT_CORP_ID, 1000002, "1700000000", "42"
    )
    wechat = WeChatCrypto(DEFAULT_TOKEN, DEFAULT_AES_KEY, DEFAULT_CORP_ID)
    assert _text_of(wechat.decrypt_message(body, sig, "1700000000", "42")) == message
    with pytest.raises(InvalidSignatureException):
        wechat.decrypt_message(body, sig, "1700000001", "42")
    echostr = crypto.encrypt("5927305520", aes_key=DEFAULT_AES_KEY, corp_id=DEFAULT_CORP_ID)
    echo_sig = crypto.signature(DEFAULT_TOKEN, "1700000000", "7", echostr)
    assert _text_of(wechat.check_signature(echo_sig, "1700000000", "7", echostr)) == "5927305520"


def test_simulator_decrypts_what_wechatpy_encrypts(sim: WeComSimulator) -> None:
    wechat = WeChatCrypto(DEFAULT_TOKEN, DEFAULT_AES_KEY, DEFAULT_CORP_ID)
    reply = TextReply(content="吉林大学：已收到 3 份材料", source="agent", target="zhangsan").render()
    body = wechat.encrypt_message(reply, "12345", "1700000000")
    decrypted = xmltodict.parse(sim.decrypt_passive_reply(body))["xml"]
    assert decrypted["Content"] == "吉林大学：已收到 3 份材料"
    with pytest.raises(crypto.WeComCryptoError):
        sim.decrypt_passive_reply(body.replace("1700000000", "1700000009"))


# ---- the API ---------------------------------------------------------------------------


def test_gettoken_checks_corp_and_secret(sim: WeComSimulator) -> None:
    get = sim.base_url + "gettoken"
    ok = httpx.get(get, params={"corpid": sim.corp_id, "corpsecret": sim.secret})
    assert ok.status_code == 200 and ok.json()["errcode"] == 0 and ok.json()["expires_in"] == 7200
    assert httpx.get(get, params={"corpid": "wwother", "corpsecret": sim.secret}).json()["errcode"] == 40013
    bad_secret = httpx.get(get, params={"corpid": sim.corp_id, "corpsecret": "nope"})
    assert bad_secret.status_code == 200 and bad_secret.json()["errcode"] == 40001
    assert [r.errcode for r in sim.token_requests] == [0, 40013, 40001]


def test_token_missing_invalid_expired(sim: WeComSimulator) -> None:
    assert _send(sim, None, _text("u1", "hi"))["errcode"] == 41001
    assert _send(sim, "forged", _text("u1", "hi"))["errcode"] == 40014
    token = _token(sim)
    assert _send(sim, token, _text("u1", "hi"))["errcode"] == 0
    sim.expire_tokens()
    assert _send(sim, token, _text("u1", "hi"))["errcode"] == 42001
    assert _send(sim, _token(sim), _text("u1", "hi"))["errcode"] == 0
    assert len(sim.sent_messages) == 2


def test_fault_injection_fails_only_the_next_calls(sim: WeComSimulator) -> None:
    token = _token(sim)
    sim.fail_next("message/send", -1)
    sim.fail_next("message/send", 45009)
    assert _send(sim, token, _text("u1", "a"))["errcode"] == -1
    assert _send(sim, token, _text("u1", "a"))["errcode"] == 45009
    assert _send(sim, token, _text("u1", "a"))["errcode"] == 0
    assert len(sim.sent_messages) == 1


def test_message_limits(sim: WeComSimulator) -> None:
    token = _token(sim)
    assert _send(sim, token, _text("u1", "字" * 682))["errcode"] == 0  # 2046 bytes
    assert _send(sim, token, _text("u1", "字" * 683 + "a"))["errcode"] == 45002  # 2050 bytes
    assert _send(sim, token, _text("u1", ""))["errcode"] == 44004
    markdown = {"touser": "u1", "agentid": 1, "msgtype": "markdown", "markdown": {"content": "a" * 2049}}
    assert _send(sim, token, markdown)["errcode"] == 45002
    assert _send(sim, token, {"touser": "u1", "msgtype": "file", "file": {"media_id": "nope"}})["errcode"] == 40007
    card = {
        "touser": "u1",
        "agentid": 1000002,
        "msgtype": "textcard",
        "textcard": {"title": "t", "description": "d", "url": "http://x"},
    }
    assert _send(sim, token, card)["errcode"] == 0
    assert [m.msgtype for m in sim.sent_messages] == ["text", "textcard"]


def test_agentid_must_be_the_apps(sim: WeComSimulator) -> None:
    token = _token(sim)
    assert _send(sim, token, {**_text("u1", "a"), "agentid": 1000003})["errcode"] == 40056
    assert _send(sim, token, {k: v for k, v in _text("u1", "a").items() if k != "agentid"})["errcode"] == 41011
    assert sim.sent_messages == []


def test_members_unknown_to_the_corp_are_invalid(sim: WeComSimulator) -> None:
    token = _token(sim)
    sim.members = {"u1", "u2"}
    try:
        partly = _send(sim, token, _text("u1|ghost|u2", "a"))
        assert partly["errcode"] == 0 and partly["invaliduser"] == "ghost"
        assert sim.sent_messages[-1].delivered_to == ["u1", "u2"]
        nobody = _send(sim, token, _text("ghost|nobody", "b"))
        assert nobody["errcode"] == 81013 and nobody["invaliduser"] == "ghost|nobody"
        assert len(sim.sent_messages) == 1
    finally:
        sim.members = None
    assert _send(sim, token, _text("ghost", "c"))["invaliduser"] == ""  # default: everyone is a member


def test_member_rate_limit_drops_silently(sim: WeComSimulator) -> None:
    token = _token(sim)
    with httpx.Client(base_url=sim.base_url, params={"access_token": token}) as http:
        for i in range(31):
            body = _text("u1|u2" if i == 30 else "u1", f"第{i}条")
            assert http.post("message/send", json=body).json()["errcode"] == 0
    last = sim.sent_messages[-1]
    assert last.dropped_for == ["u1"] and last.delivered_to == ["u2"]
    assert all(m.delivered_to == ["u1"] for m in sim.sent_messages[:30])


def test_duplicate_check_suppresses_a_repeat(sim: WeComSimulator) -> None:
    token = _token(sim)
    body = {**_text("u1", "同一条"), "enable_duplicate_check": 1, "duplicate_check_interval": 60}
    assert _send(sim, token, body)["errcode"] == 0
    assert _send(sim, token, body)["errcode"] == 0
    assert [m.duplicate for m in sim.sent_messages] == [False, True]
    assert sim.sent_messages[1].delivered_to == []


def test_media_upload_and_get(sim: WeComSimulator) -> None:
    token = _token(sim)
    up = httpx.post(
        sim.base_url + "media/upload",
        params={"access_token": token, "type": "file"},
        files={"media": ("汇总表.xlsx", b"PK\x03\x04data", "application/vnd.ms-excel")},
    ).json()
    assert up["errcode"] == 0 and up["type"] == "file"
    assert sim.uploaded_media[0].filename == "汇总表.xlsx" and sim.uploaded_media[0].data == b"PK\x03\x04data"
    got = httpx.get(sim.base_url + "media/get", params={"access_token": token, "media_id": up["media_id"]})
    assert got.content == b"PK\x03\x04data"
    raw_headers = dict(got.headers.raw)
    assert raw_headers[b"content-disposition"] == 'attachment; filename="汇总表.xlsx"'.encode()  # raw UTF-8
    missing = httpx.get(sim.base_url + "media/get", params={"access_token": token, "media_id": "x"})
    assert missing.json()["errcode"] == 40007


def test_media_upload_rejections(sim: WeComSimulator) -> None:
    token = _token(sim)
    url = sim.base_url + "media/upload"
    params = {"access_token": token, "type": "file"}
    assert httpx.post(url, params=params, files={"media": ("e.txt", b"")}).json()["errcode"] == 44001
    assert httpx.post(url, params=params, files={"other": ("a.txt", b"1")}).json()["errcode"] == 41005
    bad_type = {"access_token": token, "type": "exe"}
    assert httpx.post(url, params=bad_type, files={"media": ("a.txt", b"1")}).json()["errcode"] == 40005
    big = b"\0" * (20 * 1024 * 1024 + 1)
    assert httpx.post(url, params=params, files={"media": ("big.bin", big)}).json()["errcode"] == 40006
    assert sim.uploaded_media == []


def test_wechatpy_upload_retry_pitfall_is_reproduced(sim: WeComSimulator) -> None:
    """wechatpy re-sends the consumed file object after a 42001: the simulator sees 0 bytes, as WeCom does."""

    class Plain(WeChatClient):
        API_BASE_URL = sim.base_url

        def fetch_access_token(self):  # type: ignore[no-untyped-def]
            return self._fetch_access_token(
                url=sim.base_url + "gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
            )

    client = Plain(sim.corp_id, sim.secret)
    sim.fail_next("media/upload", 42001)
    with pytest.raises(WeChatClientException) as err:
        client.media.upload("file", ("a.txt", io.BytesIO(b"contents"), "text/plain"))
    assert err.value.errcode == 44001


def test_webhook(sim: WeComSimulator) -> None:
    send = sim.base_url + "webhook/send"
    key = {"key": sim.webhook_key}
    assert (
        httpx.post(send, params={"key": "wrong"}, json={"msgtype": "text", "text": {"content": "x"}}).json()["errcode"]
        == 93000
    )
    assert (
        httpx.post(send, params=key, json={"msgtype": "text", "text": {"content": "x" * 2049}}).json()["errcode"]
        == 40058
    )
    long_md = {"msgtype": "markdown", "markdown": {"content": "x" * 4096}}
    assert httpx.post(send, params=key, json=long_md).json()["errcode"] == 0
    long_md["markdown"]["content"] += "x"
    assert httpx.post(send, params=key, json=long_md).json()["errcode"] == 40058
    up = httpx.post(
        sim.base_url + "webhook/upload_media", params={**key, "type": "file"}, files={"media": ("日报.xlsx", b"123456")}
    ).json()
    assert up["errcode"] == 0
    assert (
        httpx.post(send, params=key, json={"msgtype": "file", "file": {"media_id": up["media_id"]}}).json()["errcode"]
        == 0
    )
    assert [m.msgtype for m in sim.webhook_messages] == ["markdown", "file"]


def test_webhook_robot_rate_limit(sim: WeComSimulator) -> None:
    with httpx.Client(base_url=sim.base_url, params={"key": sim.webhook_key}) as http:
        codes = [
            http.post("webhook/send", json={"msgtype": "text", "text": {"content": f"{i}"}}).json()["errcode"]
            for i in range(21)
        ]
    assert codes == [0] * 20 + [45009]


# ---- callbacks to the desk ---------------------------------------------------------------


class DeskStub:
    """A minimal callback endpoint built on wechatpy, as the desk's will be; slow for chosen MsgIds."""

    def __init__(self) -> None:
        self.crypto = WeChatCrypto(DEFAULT_TOKEN, DEFAULT_AES_KEY, DEFAULT_CORP_ID)
        self.received: list[dict] = []
        self.slow: dict[str, int] = {}  # MsgId -> how many more requests to stall
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.get("/wecom/callback")
        def verify(msg_signature: str, timestamp: str, nonce: str, echostr: str) -> Response:
            try:
                return PlainTextResponse(self.crypto.check_signature(msg_signature, timestamp, nonce, echostr))
            except InvalidSignatureException:
                return Response(status_code=403)

        @self.app.post("/wecom/callback")
        async def receive(request: Request, msg_signature: str, timestamp: str, nonce: str) -> Response:
            try:
                plain = self.crypto.decrypt_message(await request.body(), msg_signature, timestamp, nonce)
            except InvalidSignatureException:
                return Response(status_code=403)
            message = xmltodict.parse(plain)["xml"]
            with self.lock:
                self.received.append(message)
                stall = self.slow.get(message.get("MsgId", ""), 0)
                if stall:
                    self.slow[message["MsgId"]] = stall - 1
            if stall:
                await asyncio.sleep(0.6)
            reply = TextReply(content="收到：" + message.get("Content", ""), source="agent", target="x").render()
            return Response(self.crypto.encrypt_message(reply, nonce, timestamp), media_type="text/xml")


@pytest.fixture(scope="module")
def desk_server() -> Iterator[tuple[DeskStub, str]]:
    stub = DeskStub()
    with BackgroundServer(stub.app) as server:
        yield stub, server.url + "/wecom/callback"


@pytest.fixture
def desk(desk_server: tuple[DeskStub, str]) -> tuple[DeskStub, str]:
    stub, _ = desk_server
    with stub.lock:
        stub.received.clear()
        stub.slow.clear()
    return desk_server


def test_verify_url_round_trip(sim: WeComSimulator, desk: tuple[DeskStub, str]) -> None:
    _, url = desk
    assert sim.verify_url(url, echo="6203187412945170399") == "6203187412945170399"


def test_callback_is_encrypted_and_reply_decrypts(sim: WeComSimulator, desk: tuple[DeskStub, str]) -> None:
    stub, url = desk
    response = sim.send_callback(url, sim.text_message("zhangsan", "进度", msg_id=7001))
    assert response.status_code == 200
    assert stub.received[0]["FromUserName"] == "zhangsan" and stub.received[0]["Content"] == "进度"
    assert stub.received[0]["ToUserName"] == sim.corp_id and stub.received[0]["AgentID"] == str(sim.agent_id)
    reply = xmltodict.parse(sim.decrypt_passive_reply(response.text))["xml"]
    assert reply["Content"] == "收到：进度"


def test_bad_signature_is_refused(sim: WeComSimulator, desk: tuple[DeskStub, str]) -> None:
    stub, url = desk
    assert sim.send_callback(url, sim.text_message("zhangsan", "hi", 1), bad_signature=True).status_code == 403
    assert stub.received == []


def test_timeout_retries_with_the_same_msg_id(sim: WeComSimulator, desk: tuple[DeskStub, str]) -> None:
    stub, url = desk
    stub.slow["8001"] = 2
    started = time.monotonic()
    response = sim.send_callback(url, sim.text_message("lisi", "清单", msg_id=8001), timeout=0.3)
    assert response.status_code == 200
    assert [m["MsgId"] for m in stub.received] == ["8001"] * 3
    attempts = sim.callback_attempts
    assert [a.status for a in attempts] == [None, None, 200] and {a.msg_id for a in attempts} == {"8001"}
    assert time.monotonic() - started < 5


def test_timeout_gives_up_after_the_retries(sim: WeComSimulator, desk: tuple[DeskStub, str]) -> None:
    stub, url = desk
    stub.slow["8002"] = 10
    with pytest.raises(httpx.TimeoutException):
        sim.send_callback(url, sim.text_message("lisi", "x", msg_id=8002), timeout=0.2, retries_on_timeout=2)
    assert len(sim.callback_attempts) == 3


def test_file_and_event_messages_parse(sim: WeComSimulator, desk: tuple[DeskStub, str]) -> None:
    stub, url = desk
    media_id = sim.add_media("推荐表.docx", b"docx bytes")
    sim.send_callback(url, sim.file_message("wangwu", media_id, msg_id=9001, file_name="推荐表.docx"))
    sim.send_callback(url, sim.event_message("wangwu", "click", event_key="STATUS"))
    file_msg, event = stub.received
    assert (file_msg["MsgType"], file_msg["MediaId"], file_msg["FileName"]) == ("file", media_id, "推荐表.docx")
    assert (event["MsgType"], event["Event"], event["EventKey"]) == ("event", "click", "STATUS")
    assert sim.media(media_id).data == b"docx bytes"
