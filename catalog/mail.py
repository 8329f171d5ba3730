"""Sending the site's e-mails (account verification, password reset) through the configured SMTP server.

Without KHLANG_SMTP_URL a mail is written to the server's log instead, so a demo or a test machine shows the link."""
import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

log = logging.getLogger("khlang.mail")


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the mail."""


def send(settings, to, subject, body):
    """Send one plain-text mail (UTF-8, so Thai text arrives as written)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.mail_from, to, subject
    msg.set_content(body)
    if not settings.smtp_url:
        log.warning("no KHLANG_SMTP_URL: this mail was not sent\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
        return
    url = urlparse(settings.smtp_url)
    secure = url.scheme == "smtps"
    try:
        client = (smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=20, context=ssl.create_default_context())
                  if secure else smtplib.SMTP(url.hostname, url.port or 25, timeout=20))
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"cannot send mail through {url.hostname}:{url.port}: {exc}") from exc
