"""WhatsApp through the official Cloud API (Meta's Graph API and signed webhooks)."""

from adapters.whatsapp.adapter import WhatsAppAdapter

__all__ = ["WhatsAppAdapter"]
