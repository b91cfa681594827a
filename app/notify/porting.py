"""Notices stay: they are each person's own, written for this server's links."""

from .models import CircleNoticeSetting, Notice, NoticePrefs, NoticeSetting, PushMessage, PushSubscription


def register(areas) -> None:
    why = "A person's notices and settings are their own, and point at this server."
    for model in (Notice, NoticeSetting, CircleNoticeSetting, NoticePrefs):
        areas.keep_back(model, why)
    areas.keep_back(PushSubscription, "A device's push address is its owner's, and is signed for this server's key.")
    areas.keep_back(PushMessage, "Pushes waiting to be sent are this server's work in progress.")
