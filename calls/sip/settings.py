"""What the SIP engine is told: the sip.* options plus the credentials from the case store.

:class:`SipSettings` is the one place that turns Faro's options into the engine's
configuration, so the policy is readable in one screen: TLS only, the server's certificate
always verified, SRTP mandatory (``srtp-mand``: an offer without SRTP is refused with 488,
never downgraded), manual answer, 48 kHz mono PCM both ways (the engine resamples to the
codec), an adaptive jitter buffer, and a media timeout that tells a dead line from silence.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from pathlib import Path
from typing import Any

from calls import options as opt
from calls.media import RATE
from core.config import Config
from core.errors import ConfigError
from core.i18n import _

#: the CA bundle of Debian's ca-certificates, used when sip.ca_file is empty
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
#: the media encryption the account insists on
MEDIA_ENCRYPTION = "srtp-mand"
#: the INVITE header in which a supervisor's live-assistance leg carries its one-time grant
ASSIST_HEADER = "X-Faro-Assist"


def _is_ip_literal(hostport: str) -> bool:
    host = re.sub(r"^sips?:", "", hostport).split(";", 1)[0]
    if host.startswith("["):
        return True  # [IPv6]:port
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class SipCredentials:
    password: str

    def __repr__(self) -> str:
        return "SipCredentials(password=***)"


@dataclasses.dataclass(frozen=True)
class SipSettings:
    user: str
    domain: str
    proxy: str = ""
    auth_user: str = ""
    ca_file: str = ""
    listen: str = ""
    local_port: int = 0
    system_resolver: bool = False
    register_interval_s: int = 300
    retry_s: float = 5.0
    codecs: tuple[str, ...] = ("opus/48000/2", "g722/16000/1", "pcma", "pcmu")
    media_timeout_s: int = 20
    test_uri: str = ""
    transfer_targets: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> SipSettings:
        codecs: list[str] = config.get(opt.SIP_CODECS)
        targets = []
        for item in config.get(opt.SIP_TRANSFER_TARGETS):
            label, sep, uri = item.partition("=")
            if not sep or not uri.strip():
                raise ConfigError(
                    _(
                        "sip.transfer_targets entries look like 'Label=sip:uri'; got {item!r}."
                    ).format(item=item)
                )
            targets.append((label.strip(), uri.strip()))
        return cls(
            user=config.get(opt.SIP_USER).strip(),
            domain=config.get(opt.SIP_DOMAIN).strip(),
            proxy=config.get(opt.SIP_PROXY).strip(),
            auth_user=config.get(opt.SIP_AUTH_USER).strip(),
            ca_file=config.get(opt.SIP_CA_FILE).strip(),
            listen=config.get(opt.SIP_LISTEN).strip(),
            local_port=config.get(opt.SIP_LOCAL_PORT),
            system_resolver=config.get(opt.SIP_SYSTEM_RESOLVER),
            register_interval_s=config.get(opt.SIP_REGISTER_S),
            retry_s=config.get(opt.SIP_RETRY_S),
            codecs=tuple(codecs),
            media_timeout_s=config.get(opt.SIP_MEDIA_TIMEOUT_S),
            test_uri=config.get(opt.SIP_TEST_URI).strip(),
            transfer_targets=tuple(targets),
        )

    # -- checks ---------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What keeps this account from working, in words for IT (empty: nothing)."""
        out = []
        if not self.user:
            out.append(_("sip.user is not set."))
        if not self.domain:
            out.append(_("sip.domain is not set."))
        for name, value in (("sip.domain", self.domain), ("sip.proxy", self.proxy)):
            if value and _is_ip_literal(value):
                out.append(
                    _(
                        "{name} must be a host name, not an IP address: the engine checks the "
                        "server certificate's name only for host names."
                    ).format(name=name)
                )
        ca = self.ca_path
        if not os.path.isfile(ca):
            out.append(_("The CA file {path} does not exist.").format(path=ca))
        return out

    @property
    def ca_path(self) -> str:
        return self.ca_file or SYSTEM_CA

    @property
    def ca_description(self) -> str:
        if self.ca_file:
            return _("verified against {name}").format(name=Path(self.ca_file).name)
        return _("verified against the system's public CAs")

    @property
    def aor_uri(self) -> str:
        """This account's own address, as another Faro laptop dials it (over TLS)."""
        return self.uri(self.user)

    def uri(self, target: str) -> str:
        """A dialable URI for an extension, a number or a full URI, always over TLS."""
        target = target.strip()
        if not target.startswith(("sip:", "sips:")):
            target = f"sip:{target}@{self.domain}"
        if "transport=" not in target:
            target += ";transport=tls"
        return target

    # -- the engine's configuration -------------------------------------------------------
    def engine_config(self, *, trace: bool = False, log_level: str = "warning") -> Any:
        from baresip import Config as EngineConfig

        lines = [
            f"sip_cafile {self.ca_path}",
            "sip_verify_server yes",
            # Faro hands PCM over at one rate; the engine resamples to the codec.
            f"ausrc_srate {RATE}",
            "ausrc_channels 1",
            f"auplay_srate {RATE}",
            "auplay_channels 1",
            "audio_buffer 20-160",
            "audio_jitter_buffer_type adaptive",
            "audio_jitter_buffer_ms 20-200",
        ]
        if self.system_resolver:
            lines.append("dns_getaddrinfo yes")
        if self.local_port:
            host = self.listen if self.listen and self.listen[0].isdigit() else "0.0.0.0"
            lines.append(f"sip_listen {host}:{self.local_port}")
        return EngineConfig(
            net_interface=self.listen or None,
            audio_driver="aumem",
            native_log_level=log_level,
            sip_trace=trace,
            # one conversation plus a consultation or conference leg; a third INVITE gets 486
            max_concurrent_calls=2,
            # a supervisor's live-assistance leg names its one-time grant in this header
            expose_headers=(ASSIST_HEADER,),
            rtp_timeout=self.media_timeout_s,
            extra_config_text="\n".join(lines) + "\n",
        )

    def _proxy_uri(self) -> str | None:
        if not self.proxy:
            return None
        uri = self.proxy if self.proxy.startswith(("sip:", "sips:")) else f"sip:{self.proxy}"
        return uri if "transport=" in uri else f"{uri};transport=tls"

    def account(self, credentials: SipCredentials) -> Any:
        from baresip import Account

        return Account(
            user=self.user,
            domain=self.domain,
            password=credentials.password,
            registrar=self._proxy_uri(),
            reg_interval=self.register_interval_s,
            transport="tls",
            audio_codecs=self.codecs,
            dtmf_mode="rtpevent",
            auth_user=self.auth_user or None,
            extra_params=(f"mediaenc={MEDIA_ENCRYPTION}",),
        )
