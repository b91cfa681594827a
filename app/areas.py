"""The area registry: what each area of the product adds to the others.

Each area (accounts, circles, gatherings, ...) is a package with an
``init_app(app, areas)``; ``create_app`` calls them in the order of the
``AREAS`` setting, and each registers here what it brings: a circle tab, the
sentences of its log entries, what happens when a member leaves a circle or
an account is deleted, its kinds of notice, a line for the landing page's list
of what Communitarium does, and panels (sections it adds to another area's
page). Lower areas read this registry and never import the areas above them,
so adding an area touches only its own folder and the ``AREAS`` list.

Handlers are called explicitly, in the caller's write unit: there are no
hidden signals.
"""

from __future__ import annotations

import datetime as dt

from dataclasses import dataclass, field
from typing import Callable

from flask import Flask, current_app
from markupsafe import Markup

from .i18n import _


@dataclass(frozen=True)
class Tab:
    """A tab of a circle's pages: ``label`` is marked with N_, ``current`` is
    the endpoint, or the prefix of the endpoints, that marks it as this page;
    ``shown`` decides for whom (circle, membership) it appears."""

    endpoint: str
    label: str
    current: str
    order: int
    shown: Callable | None = None


@dataclass(frozen=True)
class NoticeKind:
    """Something we tell people about (by mail today): ``label`` (marked with
    N_) says when it is sent, for the account page."""

    name: str
    label: str
    area: str
    # "now" (right away: only what is time-critical), "digest" (the daily
    # digest, the default) or "inbox" (never mailed unless the person asks);
    # None for account mail, which is transactional and not a notice.
    default: str | None = None
    # Account mail and the like are not notices: they have no setting.
    transactional: bool = False


@dataclass(frozen=True)
class Job:
    """Scheduled work the job runner does: ``run(now)`` every ``every``."""

    name: str
    run: Callable
    every: dt.timedelta
    # Work that claims its own rows (the outbox): every worker runs it each
    # pass, side by side, instead of one at a time.
    shared: bool = False


@dataclass(frozen=True)
class CalendarEntry:
    """An all-day event another area adds to a circle's calendar feed (a
    proposal's review date): ``uid`` stays the same on every fetch."""

    uid: str
    day: dt.date
    summary: str
    description: str
    url: str
    stamp: dt.datetime


@dataclass(frozen=True)
class PartyClaim:
    """Something besides seats that a party takes when it gets a seat and
    gives back when it loses it (a meal's portions): ``take(gathering, answer)``
    returns False, changing nothing, when it does not fit; ``give_back(gathering,
    answer)`` returns what that answer holds; ``prepare(gathering, answer,
    details)`` runs when someone answers "going", before anything is taken, to
    check and keep what the area needs to know about the party (``details`` is
    what the area's own form sent, or None from the plain answer form); it
    raises a RuleError to refuse."""

    take: Callable
    give_back: Callable
    prepare: Callable | None = None


@dataclass(frozen=True)
class ExportKind:
    """One kind of record in a circle's export (docs/export-format.md): the
    rows of ``model``'s table that belong to a circle, as ``rows(circle_id)``
    selects them (a Select of the table's columns). Every column leaves except
    those in ``omit`` (secrets, and what only this instance can use); columns
    that refer to people leave as the person's number in the file's
    ``people``. ``restore(record)`` gives an imported record what must be new
    on this instance (a calendar UID) or what holds ids inside JSON; the
    importer maps the foreign keys itself."""

    name: str
    model: type
    rows: Callable
    omit: tuple[str, ...] = ()
    restore: Callable | None = None
    # ``load(record, ids)`` takes in a record itself, instead of the importer
    # inserting it as a row (members become places to claim).
    load: Callable | None = None

    @property
    def table(self):
        return self.model.__table__


@dataclass(frozen=True)
class PersonalKind:
    """A part of a person's own export: ``rows(user)`` returns the records
    (plain dicts, JSON-ready) in the file's words."""

    name: str
    rows: Callable


@dataclass
class Areas:
    names: list[str] = field(default_factory=list)
    tabs: list[Tab] = field(default_factory=list)
    log_sentences: dict[str, Callable[[dict, str, str], str]] = field(default_factory=dict)
    member_left: list[Callable] = field(default_factory=list)
    account_deleted: list[Callable] = field(default_factory=list)
    deletion_warnings: list[Callable] = field(default_factory=list)
    arrivals: list[Callable] = field(default_factory=list)
    registration_exemptions: list[tuple[Callable[[], bool], Callable[[], None]]] = field(default_factory=list)
    signup_notes: list[Callable] = field(default_factory=list)
    offline_pages: list[Callable] = field(default_factory=list)
    calendar_entries: list[Callable] = field(default_factory=list)
    notice_kinds: dict[str, NoticeKind] = field(default_factory=dict)
    offers: list[tuple[int, str]] = field(default_factory=list)
    panels: dict[str, list[tuple[int, Callable]]] = field(default_factory=dict)
    purges: list[Callable] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)
    party_claims: list[PartyClaim] = field(default_factory=list)
    occurrence_made: list[Callable] = field(default_factory=list)
    proposal_actions: dict[str, Callable] = field(default_factory=dict)
    export_kinds: list[ExportKind] = field(default_factory=list)
    kept_back: dict[str, str] = field(default_factory=dict)
    export_files: list[Callable] = field(default_factory=list)
    imported: list[Callable] = field(default_factory=list)
    personal_kinds: list[PersonalKind] = field(default_factory=list)
    proposal_closed: list[Callable] = field(default_factory=list)

    # --- registering (from each area's init_app) --------------------------------------

    def tab(self, endpoint: str, label: str, *, current: str | None = None, order: int = 50,
            shown: Callable | None = None) -> None:
        self.tabs.append(Tab(endpoint, label, current or endpoint, order, shown))
        self.tabs.sort(key=lambda t: t.order)

    def log_sentence(self, action: str, write: Callable[[dict, str, str], str]) -> None:
        """``write(details, actor, subject)`` puts a log entry in words (plain text);
        the names are already "a former member" for a deleted account."""
        if action in self.log_sentences:
            raise ValueError(f"two areas write the log action {action!r}")
        self.log_sentences[action] = write

    def on_member_left(self, handler: Callable) -> None:
        """``handler(circle, user)``: in the leaving's write unit, after the membership is gone."""
        self.member_left.append(handler)

    def on_account_deleted(self, handler: Callable, warning: Callable | None = None) -> None:
        """``handler(user)`` in the deletion's write unit; ``warning(user)`` returns
        sentences for the page that asks before deleting."""
        self.account_deleted.append(handler)
        if warning is not None:
            self.deletion_warnings.append(warning)

    def on_arrival(self, handler: Callable) -> None:
        """``handler(user, next_url)`` when someone registers, confirms or signs in,
        in the caller's write unit; it may return where the person should land."""
        self.arrivals.append(handler)

    def exempt_registration(self, predicate: Callable[[], bool], spend: Callable[[], None]) -> None:
        """Sign-ups a predicate vouches for (an invitation with uses left) are
        bounded by that, not by the per-address limit; ``spend()`` runs in each
        such sign-up's write unit, so the predicate can stop vouching."""
        self.registration_exemptions.append((predicate, spend))

    def signup_note(self, note: Callable[[str | None], str | None]) -> None:
        """``note(next_url)`` may give a line for the mail that confirms a new
        account's address ("Ada invited you to Elm Street.")."""
        self.signup_notes.append(note)

    def calendar_entry(self, entries: Callable) -> None:
        """``entries(circle_id, slug)`` lists CalendarEntry items for the circle's
        calendar feed (only while the feed's owner is a member)."""
        self.calendar_entries.append(entries)

    def keep_offline(self, pages: Callable) -> None:
        """``pages(user)`` lists the paths of the area's pages that "keep my next
        gatherings on this device" keeps (those of what the person is going to)."""
        self.offline_pages.append(pages)

    def notice(self, name: str, label: str, area: str, default: str | None = None) -> None:
        """A kind of notice (``label`` marked with N_ says when it comes).
        ``default`` is its channel for whoever has not chosen: "digest" for
        most, "now" only for what is time-critical; without one it is
        transactional account mail, sent directly and not a setting."""
        if name in self.notice_kinds:
            raise ValueError(f"two areas send the notice {name!r}")
        if default not in (None, "now", "digest", "inbox"):
            raise ValueError(f"notice {name!r}: default must be 'now', 'digest' or 'inbox'")
        self.notice_kinds[name] = NoticeKind(name, label, area, default or "now", default is None)

    def job(self, name: str, run: Callable, every: dt.timedelta, shared: bool = False) -> None:
        """Work for the job runner: ``run(now)`` about every ``every``, once
        at a time across all workers (it opens its own write units); a
        ``shared`` job claims its own rows and runs in every worker's pass."""
        if name in self.jobs:
            raise ValueError(f"two areas run the job {name!r}")
        self.jobs[name] = Job(name, run, every, shared)

    def offer(self, text: str, order: int = 50) -> None:
        """A line (marked with N_) for the landing page's list of what Communitarium does."""
        self.offers.append((order, text))
        self.offers.sort(key=lambda o: o[0])

    def panel(self, page: str, render: Callable[..., str | None], order: int = 50) -> None:
        """A section on another area's page: ``render(**context)`` returns HTML
        (a rendered template) or None to add nothing. Pages with panels:
        ``gathering`` (gathering=, circle=, membership=), ``thing`` (a thing of
        the library: thing=, circle=, membership=), ``home`` (user=, circles=),
        ``circle`` (the overview: circle=, membership=), ``nav`` (above every
        circle page's tabs: circle=, membership=), ``account`` (user=),
        ``new_gathering`` (the page that plans one: circle=), ``proposal`` (a
        proposal's page: proposal=, circle=, membership=), ``upcoming`` (a
        circle's list of gatherings: circle=, membership=) and ``answered``
        (htmx's answer to an answer: gathering=, circle=, membership=; what it
        returns must swap itself in out of band, as it changed with the answer)."""
        self.panels.setdefault(page, []).append((order, render))
        self.panels[page].sort(key=lambda p: p[0])

    def on_purge(self, purge: Callable) -> None:
        """``purge(now)`` deletes what the area keeps no longer than it must
        (``flask purge``, daily), in the command's write unit; it returns
        {what: how many} for the command to print."""
        self.purges.append(purge)

    def party_claim(self, take: Callable, give_back: Callable, prepare: Callable | None = None) -> None:
        """Another counted resource taken together with a gathering's seats (see PartyClaim)."""
        self.party_claims.append(PartyClaim(take, give_back, prepare))

    def on_occurrence(self, handler: Callable) -> None:
        """``handler(series, gathering)`` when a series makes a date, in the caller's
        write unit: an area adds its part, from what it keeps in ``series.template["areas"]``."""
        self.occurrence_made.append(handler)

    def proposal_action(self, name: str, passed: Callable) -> None:
        """A kind of proposal that does something when it passes (removing a
        member, changing the agreements): talk calls ``passed(proposal)`` once,
        in the closing's write unit, when a proposal opened with
        ``action=name`` closes passed. The area's own page explains it (a
        ``proposal`` panel)."""
        if name in self.proposal_actions:
            raise ValueError(f"two areas define the proposal action {name!r}")
        self.proposal_actions[name] = passed

    def export(self, name: str, model, rows: Callable, *, omit: tuple[str, ...] = (),
               restore: Callable | None = None, load: Callable | None = None) -> None:
        """Rows of ``model`` go into a circle's export, and come back in an
        import, as kind ``name`` (see ExportKind). Kinds are imported in the
        order they are registered: register a table after those it refers to."""
        if any(kind.name == name for kind in self.export_kinds):
            raise ValueError(f"two areas export the kind {name!r}")
        self.export_kinds.append(ExportKind(name, model, rows, tuple(omit), restore, load))

    def keep_back(self, model, why: str) -> None:
        """Rows of ``model`` never leave in a circle's export; ``why`` says why
        (for docs/export-format.md). A table neither exported nor kept back
        fails tests/test_export.py, so a new area cannot forget its part."""
        self.kept_back[model.__table__.name] = why

    def export_file(self, write: Callable) -> None:
        """``write(circle)`` yields (path, chunks) for extra files of a circle's
        export (the .ics of its gatherings, photos); ``chunks`` is an iterable
        of bytes."""
        self.export_files.append(write)

    def on_import(self, handler: Callable) -> None:
        """``handler(circle, ids)`` once an import has put every kind in, in its
        write unit (``ids`` maps table name to {number in the file: new id})."""
        self.imported.append(handler)

    def personal(self, name: str, rows: Callable) -> None:
        """A part of every person's own export (the account page): ``rows(user)``."""
        self.personal_kinds.append(PersonalKind(name, rows))

    def on_proposal_closed(self, handler: Callable) -> None:
        """``handler(proposal)`` once a proposal's result is recorded, in that
        write unit: an area acts on the proposals it made (closing a circle)."""
        self.proposal_closed.append(handler)

    # --- reading (from the areas' code and templates) ------------------------------------

    def sentence(self, action: str, details: dict | None, actor: str | None, subject: str | None) -> str:
        write = self.log_sentences.get(action)
        if write is None:
            return action
        former = _("a former member")
        return write(details or {}, actor or former, subject or former)

    def render_panels(self, page: str, **context) -> Markup:
        return Markup("").join(Markup(html) for _order, render in self.panels.get(page, ())
                               if (html := render(**context)))


def areas() -> Areas:
    """The registry of the current app."""
    return current_app.extensions["communitarium.areas"]


def init_app(app: Flask, names: list[str]) -> Areas:
    """Load each area package by name, in order, and let it register itself."""
    import importlib

    registry = app.extensions["communitarium.areas"] = Areas(names=list(names))
    for name in names:
        importlib.import_module(name).init_app(app, registry)
    app.jinja_env.globals["panels"] = lambda page, **context: areas().render_panels(page, **context)
    return registry
