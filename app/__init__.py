"""Communitarium: software for circles of people who live near each other."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .extensions import babel, compress, csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates",
                static_folder=None)
    # Set after creation, so Flask adds no static view: app/assets.py serves them.
    app.static_folder = "../static"
    app.config.from_object(config_module.Defaults)
    app.config.update(config_module.from_environment(app.instance_path))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.load_secret_key(app.instance_path)
    if not app.config.get("VAPID_PRIVATE_KEY"):
        app.config["VAPID_PRIVATE_KEY"] = config_module.load_vapid_key(app.instance_path)
    from .security import SecureCookies

    app.wsgi_app = SecureCookies(app.wsgi_app)
    logging.basicConfig(level=logging.INFO)

    _init_extensions(app)
    from . import areas, cli, jobs, mail, ops, pagecache
    from .security import BoundedIntegerConverter

    app.url_map.converters["int"] = BoundedIntegerConverter
    registry = areas.init_app(app, app.config["AREAS"])
    # Plumbing's own tables never leave in a circle's export (app/circles/export.py).
    registry.keep_back(mail.OutboxMail, "Mail waiting to go is this server's.")
    registry.keep_back(jobs.ScheduledJob, "The job runner's bookkeeping is this server's.")
    registry.keep_back(pagecache.PageGeneration, "The page cache's counter is this server's.")
    cli.init_app(app)
    jobs.init_app(app)
    ops.init_app(app)
    pagecache.init_app(app)
    if app.config["PROXY_COUNT"]:  # outermost: every layer sees the address as it was asked for
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    with app.app_context():
        from .auth.passwords import warm_up

        warm_up()
    return app


def _init_extensions(app: Flask) -> None:
    from . import assets, database, errors, htmx, i18n, mail, security, templating

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            database.install_sqlite_recipe(db.engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"),
                     render_item=database.render_item)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.babel_locale)
    compress.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # "basic", not "strong": a phone that moves from Wi-Fi to mobile data
    # changes address and must stay signed in.
    login_manager.session_protection = "basic"
    security.init_app(app)
    htmx.init_app(app)
    mail.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    assets.init_app(app)
