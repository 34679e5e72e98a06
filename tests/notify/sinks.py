#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) and a webhook receiver on 127.0.0.1, for the notify tests.

    sinks.py DIR [--tls] [--auth USER:PASSWORD] [--secret SECRET] [--reject-rcpt ADDRESS] [--webhook-fail N]
             [--smtp-port PORT] [--tempfail-file PATH]

Prints one JSON line {"smtp": PORT, "webhook": PORT, "cert": PATH-or-null} once both listen, then appends every
accepted mail to DIR/mail.jsonl and every webhook request to DIR/webhook.jsonl (one JSON object a line, flushed
before the reply, so a message is on disk before the sender hears "accepted"). Runs until stdin closes or SIGTERM.

--tls: a self-signed certificate for 127.0.0.1 (DIR/cert.pem) and STARTTLS required before MAIL and AUTH.
--auth: AUTH PLAIN/LOGIN required with these credentials.
--secret: webhook requests are checked (X-Aftercare-Signature = sha256=HMAC(secret, "<timestamp>.<body>"));
          a bad signature is answered 401 and not recorded as delivered.
--webhook-fail N: the first N webhook requests are answered 503 (retry).
--smtp-port: listen for SMTP on this port (default: a free one), e.g. one a sender was already refused on.
--tempfail-file: while this file exists, every recipient (but a --reject-rcpt one) is answered 451 (try later).
Run with /usr/bin/python3: aiosmtpd is Debian's python3-aiosmtpd.
"""
import argparse
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOCK = threading.Lock()


def append(path, record):
    with LOCK:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailHandler:
    def __init__(self, path, reject, tempfail_file=None):
        self.path = path
        self.reject = reject
        self.tempfail_file = tempfail_file

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and address == self.reject:
            return "550 5.1.1 no such mailbox"
        if self.tempfail_file and os.path.exists(self.tempfail_file):
            return "451 4.3.0 mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        append(self.path, {
            "message_id": message["Message-ID"],
            "event_id": message["X-Aftercare-Event-Id"],
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["Subject"]),
            "list_unsubscribe": message["List-Unsubscribe"],
            "text": body.get_content() if body is not None else "",
            "raw": raw.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        })
        return "250 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
            auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    return authenticate


def make_webhook_handler(path, secret, fail):
    state = {"fail": fail}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with LOCK:
                failing = state["fail"] > 0
                if failing:
                    state["fail"] -= 1
            if failing:
                self.send_response(503)
                self.end_headers()
                return
            timestamp = self.headers.get("X-Aftercare-Timestamp", "")
            signature = self.headers.get("X-Aftercare-Signature", "")
            ok = True
            if secret:
                expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, signature)
            if not ok:
                self.send_response(401)
                self.end_headers()
                return
            append(path, {
                "event_id": self.headers.get("X-Aftercare-Event-Id"),
                "timestamp": timestamp,
                "signature": signature,
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(body),
            })
            self.send_response(204)
            self.end_headers()

    return Handler


def self_signed(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--auth")
    parser.add_argument("--secret")
    parser.add_argument("--reject-rcpt")
    parser.add_argument("--webhook-fail", type=int, default=0)
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--tempfail-file")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    kwargs = {}
    cert = None
    if args.tls:
        import ssl
        cert, key = self_signed(args.dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs.update(authenticator=make_authenticator(user, password), auth_required=True,
                      auth_require_tls=args.tls)
    smtp_port = args.smtp_port or free_port()
    controller = Controller(MailHandler(os.path.join(args.dir, "mail.jsonl"), args.reject_rcpt, args.tempfail_file),
                            hostname="127.0.0.1", port=smtp_port, **kwargs)
    controller.start()

    webhook = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), make_webhook_handler(os.path.join(args.dir, "webhook.jsonl"), args.secret,
                                               args.webhook_fail))
    threading.Thread(target=webhook.serve_forever, daemon=True).start()

    print(json.dumps({"smtp": smtp_port, "webhook": webhook.server_address[1], "cert": cert}), flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    webhook.shutdown()
    controller.stop()


if __name__ == "__main__":
    main()
