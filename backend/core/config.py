"""The backend's one settings class: every setting comes from the environment or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from limits import parse as parse_limit
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.rest import REST_CLIENT_ID, SHA256_HEX
from channels.twilio.sids import ACCOUNT_SID
from channels.webchat import normalize_origin

# The kinds of outreach message (backend/outreach/kinds.py names them for the code).
OutreachKind = Literal["appointment_reminder", "visit_checkin", "refill_nudge", "results_ready"]
OUTREACH_KINDS: tuple[OutreachKind, ...] = get_args(OutreachKind)

ROOT = Path(__file__).resolve().parents[2]

# Values that ship in .env.example or as defaults: fine on a laptop, refused anywhere else.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "dev-service-token", "dev-rasa-token", "dev-encryption-key"}
)
SECRET_FIELDS = ("encryption_key", "service_token", "rasa_token")


class Settings(BaseSettings):
    """Backend (hub) settings. See .env.example for what each one means."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    # No default: a stack started without ENV must not quietly run as development (which
    # accepts placeholder secrets and mounts the development outbox).
    env: Literal["development", "test", "production"]
    var_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: SQLite file under var_dir

    encryption_key: str = "dev-encryption-key"
    # Key rotation (docs/security.md, "Rotating the keys"): older encryption keys, newest
    # first, comma-separated; still read, never written, kept until `make rotate-keys` has
    # re-encrypted everything under ENCRYPTION_KEY.
    encryption_keys_old: str = ""
    # Secret of the keyed hashes that find conversations by address, apart from the encryption
    # keys so that rotating those never breaks a lookup. Empty: derived from ENCRYPTION_KEY,
    # accepted outside production only.
    address_hash_key: str = ""
    service_token: str = "dev-service-token"

    # Several Rasa instances (scaled profile): comma-separated URLs; the hub spreads turns
    # over them. Empty: RASA_URL alone.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_urls: str = ""
    # Shown to Rasa on every call: the `token` of its HTTP API, and the bearer secret of the
    # hub channel, the only way into the dialogue (docs/security.md).
    rasa_token: str = "dev-rasa-token"
    rasa_timeout_s: float = 30.0
    actions_url: str = "http://127.0.0.1:5055"
    ehr_base_url: str = "http://127.0.0.1:8090/fhir"
    ehr_auth: Literal["none", "smart"] = "none"
    ehr_smart_client_id: str = ""
    ehr_smart_key_file: str = ""
    ehr_smart_scope: str = "system/*.read system/*.write"
    ehr_smart_alg: Literal["RS384", "ES384"] = "RS384"
    ehr_timeout_s: float = Field(default=5.0, gt=0)
    health_timeout_s: float = 2.0

    clinic_name: str = "Riverside Family Health"
    clinic_phone: str = "+1 555-0100"
    clinic_hours: str = "Mon-Fri 8:00-18:00"
    emergency_number: str = "911"
    crisis_line: str = "988"
    poison_line: str = "1-800-222-1222"

    max_message_chars: int = Field(default=2000, ge=1)
    # Any request body over this is refused (413) before it is read (backend/api/body_limit.py).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # --- concurrency (docs/concurrency.md) ---
    # Redis for what several hub workers share (conversation locks, console events, refill
    # de-duplication, the phone-turn queue); empty: one process, kept in memory.
    redis_url: str = ""
    # Every key, channel and queue this deployment uses in Redis starts with this prefix, so
    # two deployments (or a test run) can share one Redis without seeing each other.
    redis_prefix: str = Field(default="hub:", pattern=r"^[A-Za-z0-9_.:-]{1,40}$")
    # A Redis that stops answering must fail a call, not hang a turn: connect and read limits.
    redis_socket_timeout_s: float = Field(default=5.0, gt=0)
    # Turns answered at once by one hub worker, and turns that may wait for one; past that a
    # REST message is refused with 503 and Retry-After (nothing stored), a web chat message
    # waits with a "busy" notice, and a phone message waits in the queue.
    hub_max_turns: int = Field(default=32, ge=1)
    hub_max_waiting: int = Field(default=256, ge=0)
    hub_max_wait_s: float = Field(default=20.0, gt=0)  # then the waiting REST message gets 503
    hub_retry_after_s: int = Field(default=2, ge=1)
    # Phone turns (SMS, WhatsApp, Telegram) run from a queue: while Rasa is down a turn is
    # tried this many times, waiting this many seconds more each time, then the patient is told.
    phone_turn_tries: int = Field(default=4, ge=1)
    phone_turn_retry_s: float = Field(default=5.0, ge=0)
    # Rate limits on patient messages (backend/hub/rate_limits.py), in the `limits` library's
    # notation ("30/minute", "5 per 10 seconds"): per conversation address on every channel,
    # and per client (a REST client, the address a web chat writes from). Over them REST gets
    # 429, web chat a "slow down" frame, a phone message is kept but not sent to Rasa.
    rate_limit_per_address: str = "30/minute"
    rate_limit_per_client: str = "300/minute"
    # The REST channel is off (404) unless clients are listed: client id -> SHA-256 (hex) of
    # its API key, as JSON, e.g. {"bench": "9f86d0..."}; `python -m scripts.rest_client NAME`
    # makes a key and its entry. Clients send `Authorization: Bearer <key>`.
    rest_clients: dict[str, str] = Field(default_factory=dict)
    # Worker threads for blocking database work (the event loop never waits on the database).
    db_threads: int = Field(default=8, ge=1)
    # A session longer than this many patient messages is closed at the next idle point,
    # so Rasa's per-turn replay stays short (docs/architecture.md, "Sessions").
    session_max_turns: int = Field(default=20, ge=2)

    # Twilio (SMS and WhatsApp). Inbound webhooks need the auth token and the public base URL
    # Twilio calls (signatures cover the exact URL); outbound needs the account sid, the token
    # and a sending number per channel. With no account, outbound goes to the dev outbox.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""  # E.164, SMS sender
    twilio_whatsapp_from: str = ""  # E.164 (with or without "whatsapp:"), WhatsApp sender
    public_base_url: str = "http://127.0.0.1:8000"
    twilio_api_base_url: str = "https://api.twilio.com"  # tests point this at a local double
    # WhatsApp outside the 24-hour window: approved templates, message kind -> Content API sid
    # (JSON in the environment, e.g. {"appointment_reminder": "HX..."}).
    twilio_whatsapp_templates: dict[str, str] = Field(default_factory=dict)

    # --- web chat (docs/security.md, "Web chat sessions") ---
    # The hub's own address as the stack starts it (BACKEND_URL, shared with the actions);
    # in development its origin may open the web chat.
    backend_url: str = "http://127.0.0.1:8000"
    # Origins (scheme://host[:port], comma-separated) whose pages may open the web chat socket.
    # Empty: PUBLIC_BASE_URL's origin, plus BACKEND_URL's (127.0.0.1 or localhost) in
    # development. Any other Origin, or none, is refused (backend/webchat/origins.py).
    webchat_allowed_origins: str = ""
    # A web chat token ends after this many minutes with no tab connected to it, and this many
    # hours after it was issued whatever happens; the tab then gets a new conversation.
    webchat_session_idle_minutes: float = Field(default=60, gt=0)
    webchat_session_max_hours: float = Field(default=12, gt=0)

    # Clinician console: hours a sign-in lasts (then the clinician signs in again).
    clinician_session_hours: float = Field(default=8.0, gt=0)
    # ... and minutes without a clinician action (the page's timed refreshes do not count)
    # after which a session ends: an unattended, signed-in screen locks itself.
    clinician_session_idle_minutes: float = Field(default=30.0, gt=0)
    # Every console account must set up a TOTP second factor (enrolment right after the
    # password); off: required only of accounts that have set one up.
    console_require_totp: bool = False
    # The console cookie's Secure flag; unset: Secure everywhere but ENV=development.
    console_cookie_secure: bool | None = None

    # --- identity ---
    # Patient verification (backend/identity): a verification ends after this many minutes
    # without a patient message; codes are 6 digits, valid this long, single use; this many
    # wrong codes or birth dates lock the conversation and the phone for the lockout; at most
    # this many codes per hour per conversation and per phone, and this many verification
    # starts per hour per conversation. Phone numbers without "+" are read in this region.
    identity_idle_minutes: float = Field(default=30, gt=0)
    identity_code_ttl_minutes: float = Field(default=10, gt=0)
    identity_max_failures: int = Field(default=3, ge=1)
    identity_lockout_minutes: float = Field(default=15, gt=0)
    identity_codes_per_hour: int = Field(default=5, ge=1)
    identity_starts_per_hour: int = Field(default=10, ge=1)
    # Per source (the client behind a conversation: the sender's number, the Telegram user,
    # the REST/web client address), so new conversations bring no fresh attempts. Higher than
    # the per-conversation limits: one address can be a clinic's shared Wi-Fi.
    identity_source_max_failures: int = Field(default=10, ge=1)
    identity_source_starts_per_hour: int = Field(default=30, ge=1)
    # Against one patient (the phone on file), from sources other than that phone: this many
    # codes sent and wrong codes in an hour alert the care team and pause codes to that phone
    # for this long (the phone's own conversation is never locked or paused).
    identity_target_alert_after: int = Field(default=6, ge=1)
    identity_target_pause_minutes: float = Field(default=60, gt=0)
    identity_phone_region: str = Field(default="US", min_length=2, max_length=2)

    # --- records (lab results, refills; docs/records.md) ---
    # Text channels where the clinic allows result values; the web chat always shows them,
    # every other channel only says results are ready (minimum necessary).
    results_values_channels: list[Literal["sms", "whatsapp", "telegram"]] = Field(
        default_factory=list
    )
    # Business days a routine refill usually takes; patients are told to expect it by then.
    refill_turnaround_business_days: int = Field(default=2, ge=1, le=15)

    # --- hand-off ---
    # When clinicians answer the console (backend/handoff/hours.py): day ranges and times in
    # the clinic's time zone, ";"-separated, e.g. "mon-fri 08:00-18:00; sat 09:00-12:00".
    clinic_opening_hours: str = "mon-fri 08:00-18:00"
    clinic_timezone: str = "America/New_York"
    # Minutes a clinician usually takes per waiting conversation: the wait the patient is told.
    handoff_minutes_per_patient: int = Field(default=10, ge=1)

    # --- appointments ---
    # Cancelling less than this many hours before the start is flagged as late in the reply
    # (the clinic's cancellation policy); dates are understood in CLINIC_TIMEZONE.
    appointment_cancel_notice_hours: float = Field(default=24.0, ge=0)
    # What the booking confirmation tells the patient to bring.
    appointment_what_to_bring: str = (
        "Please bring a photo ID, your insurance card and a list of the medicines you take, "
        "and arrive 10 minutes early."
    )

    @model_validator(mode="before")
    @classmethod
    def _require_env(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("env"):
            raise ValueError(
                "ENV is not set: set ENV=development, test or production in the environment "
                "or in .env (`make install` writes .env with ENV=development for a laptop)"
            )
        return data

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "development":
            return self
        weak = [
            name.upper()
            for name in SECRET_FIELDS
            if getattr(self, name) in PLACEHOLDER_SECRETS or len(getattr(self, name)) < 16
        ]
        if weak:
            raise ValueError(
                f"{', '.join(weak)} must be set to a random secret of at least 16 characters "
                f"when ENV={self.env} (generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        return self

    # Telegram: the bot's token (from @BotFather), the secret given to setWebhook (checked on
    # every update), and the Bot API base (tests point it at a local double).
    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org"

    # --- outreach (backend/outreach, docs/outreach.md) ---
    # Local times (HH:MM) between which outreach may reach a patient, in the patient's time
    # zone (the contact's own, else OUTREACH_TIMEZONE, else CLINIC_TIMEZONE).
    outreach_timezone: str = ""
    outreach_send_from: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    outreach_send_until: str = Field(default="20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    outreach_reminder_leads_h: list[float] = Field(default_factory=lambda: [48.0, 2.0])
    outreach_checkin_at: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    outreach_refill_days_before: int = Field(default=3, ge=0)
    outreach_daily_cap: int = Field(default=1, ge=0)  # non-urgent messages per 24 h
    outreach_weekly_cap: int = Field(default=3, ge=0)  # non-urgent messages per 7 days
    outreach_sync_minutes: float = Field(default=15.0, gt=0)
    outreach_health_port: int = 8091  # the scheduler process's /health (scripts/stack.py)
    outreach_max_per_second: float = Field(default=0.0, ge=0)  # provider rate limit; 0 = off
    # The kinds a patient is taken to agree to when they verify on a conversation (the clinic's
    # default consent); an empty list means outreach only after an explicit consent.
    outreach_default_consents: list[OutreachKind] = Field(
        default_factory=lambda: list(OUTREACH_KINDS)
    )

    @property
    def patients_timezone(self) -> str:
        """The time zone outreach assumes for a patient with none of their own."""
        return self.outreach_timezone or self.clinic_timezone

    @model_validator(mode="after")
    def _refuse_half_configured_channels(self) -> Settings:
        if self.twilio_account_sid and not ACCOUNT_SID.fullmatch(self.twilio_account_sid):
            # Inbound webhooks must name this account (channels/twilio/webhook.py): a
            # mistyped sid would refuse every patient message.
            raise ValueError(
                "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits (Twilio console, "
                "Account Info)"
            )
        if self.twilio_account_sid and not self.twilio_auth_token:
            raise ValueError("TWILIO_ACCOUNT_SID is set: set TWILIO_AUTH_TOKEN too")
        if self.telegram_bot_token and len(self.telegram_secret_token) < 16:
            raise ValueError(
                "TELEGRAM_BOT_TOKEN is set: set TELEGRAM_SECRET_TOKEN to a random secret of at "
                "least 16 characters (and pass it to setWebhook as secret_token)"
            )
        if (
            self.twilio_auth_token
            and self.env == "production"
            and not self.public_base_url.startswith("https://")
        ):
            raise ValueError(
                "PUBLIC_BASE_URL must be the https URL Twilio calls (webhook signatures cover it)"
            )
        return self

    @model_validator(mode="after")
    def _check_rate_limits_and_rest_clients(self) -> Settings:
        for name in ("rate_limit_per_address", "rate_limit_per_client"):
            try:
                parse_limit(getattr(self, name))
            except ValueError as exc:
                raise ValueError(
                    f"{name.upper()} must read like '30/minute' or '5 per 10 seconds': {exc}"
                ) from exc
        for client, key_hash in self.rest_clients.items():
            if not REST_CLIENT_ID.fullmatch(client) or not SHA256_HEX.fullmatch(key_hash):
                raise ValueError(
                    f"REST_CLIENTS entry {client!r}: ids are 1-32 of a-z, 0-9, _ and -, and each "
                    "value is the SHA-256 hex digest (64 characters) of the client's API key "
                    "(make both with: python -m scripts.rest_client NAME)"
                )
        return self

    @model_validator(mode="after")
    def _check_webchat_origins(self) -> Settings:
        for origin in self.webchat_allowed_origins.split(","):
            if origin.strip():
                normalize_origin(origin)  # a ValueError names the entry to fix
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.encryption_keys_old.strip() and not self.address_hash_key:
            # Derived from ENCRYPTION_KEY, the address key would change with it, and no
            # patient's conversation would be found again.
            raise ValueError(
                "ENCRYPTION_KEYS_OLD is set (a key rotation): set ADDRESS_HASH_KEY too, to the "
                "ENCRYPTION_KEY the stored address hashes were made with (docs/security.md)"
            )
        if self.env != "production":
            return self
        if self.address_hash_key in PLACEHOLDER_SECRETS or len(self.address_hash_key) < 16:
            raise ValueError(
                "ADDRESS_HASH_KEY must be set to a random secret of at least 16 characters when "
                "ENV=production (when upgrading, set it to the ENCRYPTION_KEY the data was "
                "written under, so stored address hashes still match; docs/security.md)"
            )
        if self.ehr_auth == "none":
            raise ValueError(
                "EHR_AUTH=none is for the embedded development EHR only: when ENV=production, "
                "set EHR_AUTH=smart with EHR_SMART_CLIENT_ID and EHR_SMART_KEY_FILE (docs/ehr.md)"
            )
        return self

    @property
    def twilio_account_configured(self) -> bool:
        """True when outbound SMS/WhatsApp can go through Twilio rather than the dev outbox."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def rasa_instances(self) -> list[str]:
        """Every Rasa server the hub may send a turn to."""
        urls = [u.strip() for u in self.rasa_urls.split(",") if u.strip()]
        return urls or [self.rasa_url]

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'backend.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # ENV comes from the environment or .env
