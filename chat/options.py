"""Options of the chat line on a counselor's laptop (docs/chat.md "The counselor's client").

The account is ``<identity.counselor_id>@<chat.domain>``; its password is the case store's
secret ``chat.password`` (handed over at unlock by app/wiring.py, never in a file).
"""

from core.config import declare
from core.i18n import N_

ENABLED = declare(
    "chat.enabled",
    bool,
    False,
    N_("Answer the chat line on this laptop (off: the chat service does nothing)."),
)
DOMAIN = declare(
    "chat.domain",
    str,
    "",
    N_("The chat server's domain; the counselor's account is <counselor id>@<domain>."),
)
HOST = declare(
    "chat.host",
    str,
    "",
    N_("Host name or address of the chat server (empty: the domain itself)."),
)
PORT = declare(
    "chat.port",
    int,
    5222,
    N_("TCP port of the chat server (XMPP with STARTTLS)."),
    minimum=1,
    maximum=65535,
)
CA_FILE = declare(
    "chat.ca_file",
    str,
    "",
    N_("PEM file of the certificate authority that signed the chat server's certificate."),
)
MAX_CHATS = declare(
    "chat.max_chats",
    int,
    2,
    N_("How many chats a counselor may hold at once."),
    minimum=1,
    maximum=20,
)
CHATS_WITH_CALL = declare(
    "chat.chats_with_call",
    bool,
    False,
    N_("Whether a counselor on a phone call may still be offered chats."),
)
