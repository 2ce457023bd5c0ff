"""Twilio's identifier formats: two letters that name the kind of resource, 32 hex digits.

Kept apart (no twilio import) so the settings can check the configured account sid too.
"""

from __future__ import annotations

import re

# Twilio's own patterns (its API definitions): a text message's sid starts with SM, a media
# message's with MM, an account's with AC.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
