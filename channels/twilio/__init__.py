"""SMS and WhatsApp over Twilio: verify and parse webhooks, render replies, send messages."""
