"""Notices stay: they are each person's own, written for this server's links."""

from .models import CircleNoticeSetting, Notice, NoticePrefs, NoticeSetting


def register(areas) -> None:
    why = "A person's notices and settings are their own, and point at this server."
    for model in (Notice, NoticeSetting, CircleNoticeSetting, NoticePrefs):
        areas.keep_back(model, why)
