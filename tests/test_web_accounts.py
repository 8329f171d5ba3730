"""People's own accounts: registration verified by e-mail, password reset by e-mail, profile editing, accounts
closed by sysadmins. Mail goes through a real SMTP server (aiosmtpd) on a loopback port; the tests follow the
links in the mails as a person would."""
import email
import re
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller

from catalog.settings import SettingError, Settings
from catalog.users import create_user
from conftest import free_port


class Inbox:
    """An SMTP server's handler keeping every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def link(self, to, path):
        """The one link to `path` in the newest mail to `to`, as a path on the site."""
        mail = [m for m in self.messages if m["To"] == to][-1]
        body = mail.get_payload(decode=True).decode("utf-8")
        return re.search(rf"http://localhost(/user/{path}/[\w.\-]+)", body).group(1)


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def mail_site(settings, inbox):
    from web import create_app

    app = create_app({"SETTINGS": replace(settings, smtp_url=inbox[1]), "TESTING": True})
    return app, inbox[0]


def _csrf(client, url):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def _post(client, url, **form):
    return client.post(url, data={"csrf_token": _csrf(client, url), **form})


def _login(client, login, password):
    return _post(client, "/user/login", login=login, password=password)


def test_a_person_registers_verifies_by_the_mailed_link_and_logs_in(mail_site):
    app, box = mail_site
    c = app.test_client()
    form = {"name": "somsri", "fullname": "สมศรี ใจดี", "email": "somsri@example.go.th",
            "password": "pass-word-1", "password2": "pass-word-1"}
    r = _post(c, "/user/register", **form)
    assert r.status_code == 200 and "somsri@example.go.th" in r.get_data(as_text=True)
    assert _login(c, "somsri", "pass-word-1").status_code == 401   # not before the e-mail is verified
    [mail] = box.messages
    assert mail["To"] == "somsri@example.go.th" and "verify" in mail["Subject"]
    r = c.get(box.link("somsri@example.go.th", "verify"))
    assert r.status_code == 302 and r.headers["Location"].endswith("/user/login")
    assert _login(c, "somsri", "pass-word-1").status_code == 302
    assert "สมศรี ใจดี" in c.get("/user/edit/somsri").get_data(as_text=True)


@pytest.mark.parametrize("change,field", [
    ({"email": "not-an-email"}, "email"), ({"password2": "other-pass-1"}, "password2"),
    ({"password": "short", "password2": "short"}, "password"), ({"name": "Not Valid!"}, "name"),
    ({"name": "admin"}, "name"), ({"email": "ADMIN@example.go.th"}, "email")])
def test_a_registration_with_a_wrong_field_says_which_and_sends_nothing(mail_site, admin, change, field):
    app, box = mail_site
    form = {"name": "somchai", "email": "somchai@example.go.th", "password": "pass-word-1", "password2": "pass-word-1",
            **change}
    r = _post(app.test_client(), "/user/register", **form)
    assert r.status_code == 400 and f'id="err-{field}"' in r.get_data(as_text=True)
    assert box.messages == []


def test_a_registration_whose_mail_cannot_be_sent_keeps_nothing(settings):
    from web import create_app

    app = create_app({"SETTINGS": replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"), "TESTING": True})
    c = app.test_client()
    form = {"name": "somsak", "email": "somsak@example.go.th", "password": "pass-word-1", "password2": "pass-word-1"}
    r = _post(c, "/user/register?lang=en", **form)
    assert r.status_code == 400 and "nothing was saved" in r.get_data(as_text=True)
    r = _post(c, "/user/register", **form)   # the name is still free
    assert r.status_code == 400 and 'id="err-name"' not in r.get_data(as_text=True)


def test_registration_can_be_turned_off(settings, mail_site):
    from web import create_app

    app = create_app({"SETTINGS": replace(settings, registration=False), "TESTING": True})
    assert app.test_client().get("/user/register").status_code == 404
    assert "/user/register" not in app.test_client().get("/user/login").get_data(as_text=True)
    assert "/user/register" in mail_site[0].test_client().get("/user/login").get_data(as_text=True)


def test_a_forgotten_password_is_reset_by_a_mailed_link_that_works_once(mail_site, db):
    app, box = mail_site
    create_user(db, "somchai", email="somchai@example.go.th", password="old-pass-1")
    c = app.test_client()
    same = _post(c, "/user/reset", login="nobody@example.go.th").get_data(as_text=True)
    r = _post(c, "/user/reset", login="somchai")
    assert r.status_code == 200 and r.get_data(as_text=True) == same   # never says which accounts exist
    assert [m["To"] for m in box.messages] == ["somchai@example.go.th"]
    link = box.link("somchai@example.go.th", "reset")
    r = _post(c, link, password="new-pass-22", password2="new-pass-2")
    assert r.status_code == 400 and 'id="err-password2"' in r.get_data(as_text=True)
    r = _post(c, link, password="new-pass-22", password2="new-pass-22")
    assert r.status_code == 302
    assert _login(app.test_client(), "somchai", "old-pass-1").status_code == 401
    assert _login(app.test_client(), "somchai", "new-pass-22").status_code == 302
    assert app.test_client().get(link).status_code == 400   # used: the password it was made for is gone
    assert app.test_client().get(link[:-3] + "abc").status_code == 400


def test_people_edit_their_own_profile_and_sysadmins_close_accounts(mail_site, db, admin):
    app, _ = mail_site
    create_user(db, "somchai", email="somchai@example.go.th", password="old-pass-1")
    create_user(db, "other", email="other@example.go.th", password="other-pass-1")
    c = app.test_client()
    _login(c, "somchai", "old-pass-1")
    r = _post(c, "/user/edit/somchai", fullname="สมชาย ใจดี", email="somchai@example.go.th", about="นักข่าว",
              password="new-pass-22", password2="new-pass-22", old_password="wrong-pass")
    assert r.status_code == 400 and 'id="err-old_password"' in r.get_data(as_text=True)
    r = _post(c, "/user/edit/somchai", fullname="สมชาย ใจดี", email="somchai@example.go.th", about="นักข่าว")
    assert r.status_code == 302
    assert "สมชาย ใจดี" in c.get("/user/edit/somchai").get_data(as_text=True)
    assert c.get("/user/edit/other").status_code == 403
    assert "Close this account" not in c.get("/user/edit/somchai?lang=en").get_data(as_text=True)
    boss = app.test_client()
    _login(boss, "admin", "admin-pass-1")
    r = _post(boss, "/user/edit/other", close="1")
    assert r.status_code == 302
    assert _login(app.test_client(), "other", "other-pass-1").status_code == 401


def test_an_smtp_url_of_another_kind_is_refused_naming_the_setting(tmp_path):
    with pytest.raises(SettingError, match="KHLANG_SMTP_URL"):
        Settings(db_path=str(tmp_path / "k.db"), smtp_url="http://mail.example.go.th")


def test_a_new_email_counts_only_once_the_link_mailed_to_it_is_opened(mail_site, db):
    app, box = mail_site
    create_user(db, "somchai", email="somchai@example.go.th", password="old-pass-1")
    c = app.test_client()
    _login(c, "somchai", "old-pass-1")
    r = _post(c, "/user/edit/somchai", fullname="สมชาย", email="new@example.go.th")
    assert r.status_code == 302
    page = c.get("/user/edit/somchai").get_data(as_text=True)
    assert 'value="somchai@example.go.th"' in page and "สมชาย" in page   # the name saved, the address not yet
    assert [m["To"] for m in box.messages] == ["new@example.go.th"]
    link = box.link("new@example.go.th", "email")
    assert c.get(link).status_code == 302
    assert 'value="new@example.go.th"' in c.get("/user/edit/somchai").get_data(as_text=True)
    assert c.get(link).status_code == 400   # made for the old address: used once
    assert _login(app.test_client(), "new@example.go.th", "old-pass-1").status_code == 302
