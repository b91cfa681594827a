"""The demo's meals: what seed-demo promises, at the ids bench/pages.py measures."""

from __future__ import annotations

from sqlalchemy import func, select

from app.cli import seed_demo
from app.extensions import db
from app.gatherings.models import Answer, Gathering
from app.meals.models import Dish, Expense, Meal, Share
from bench.pages import PAGES

from .gatherings_helpers import seen
from .budget.conftest import QUERY_BUDGET
from .budget.test_queries import TRANSACTION
from .helpers import login


def test_seed_demo_has_a_potluck_with_open_needs_a_cooked_meal_and_a_split_one(app):
    with app.test_request_context():
        seed_demo(1)
        meals = {m.style + str(m.finalized_at is not None): m.gathering_id for m in db.session.scalars(select(Meal))}
        shares = db.session.scalars(select(Share)).all()
        db.session.remove()
    assert len(shares) == 4 and sum(s.share_minor for s in shares) == 3100 + 1250
    with app.app_context():
        assert _meal_figures() == {"Courtyard potluck": (4, 0, 2, 0, 0), "Sunday lunch": (4, 0, 0, 0, 0),
                                   "Soup night": (4, 0, 0, 2, 4)}
    client = app.test_client()
    assert login(client, email="ada@example.org", password="bring-a-dish-and-a-friend").status_code == 303
    potluck = seen(client.get(f"/c/elm-street/gatherings/{meals['potluckFalse']}"))
    assert "Still needed: 1 main, 3 sides, 2 desserts, 2 drinks, Bread" in potluck
    cooked = seen(client.get(f"/c/elm-street/gatherings/{meals['cookedFalse']}"))
    assert "Contains: gluten, eggs, milk, celery" in cooked
    assert "Coming: 7 people, 5 adults and 2 children, 6 portions." in cooked
    assert "Final. Total: €43.50" in seen(client.get(f"/c/elm-street/meals/{meals['cookedTrue']}/costs"))
    for name, path, signed_in in PAGES:
        if name in ("meal", "potluck"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert ("Sunday lunch" if name == "meal" else "Courtyard potluck") in seen(response), path



def _meal_figures() -> dict[str, tuple]:
    """{meal title: (parties seated, parties waiting, dishes, expenses, shares)}."""
    figures = {}
    for title, gathering_id in db.session.execute(select(Gathering.title, Gathering.id).join(
            Meal, Meal.gathering_id == Gathering.id)).all():
        def count(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        figures[title] = tuple(
            count(Answer, Answer.gathering_id == gathering_id, Answer.state == state) for state in ("seated", "waiting")
        ) + tuple(count(model, model.gathering_id == gathering_id) for model in (Dish, Expense, Share))
    return figures


def test_the_demo_meals_grow_with_the_scale_at_the_same_ids(app):
    """The budget tests compare each page at scale 1 and 10: the meals must
    hold more parties, dishes and expenses at the larger scale, or their
    "as many queries with ten times the data" check would compare like with like."""
    with app.test_request_context():
        seed_demo(3)  # 8 neighbours more than at scale 1
        figures = _meal_figures()
        ids = {m.gathering_id for m in db.session.scalars(select(Meal))}
        db.session.remove()
    assert ids == {13, 14, 15}  # bench/pages.py measures these
    # At scale 1: (seated, waiting, dishes, expenses, shares) are
    # potluck (4, 0, 2, 0, 0), cooked (4, 0, 0, 0, 0), past (4, 0, 0, 2, 4).
    assert figures["Courtyard potluck"] == (12, 0, 6, 0, 0)
    assert figures["Sunday lunch"] == (7, 0, 0, 0, 0)
    assert figures["Soup night"] == (12, 0, 0, 4, 12)


MEAL_PAGES = ["/c/elm-street/gatherings/13", "/c/elm-street/gatherings/14", "/c/elm-street/gatherings/15",
              "/c/elm-street/meals/13/potluck", "/c/elm-street/meals/13/costs", "/c/elm-street/meals/14/costs",
              "/c/elm-street/meals/15/costs", "/c/elm-street/meals/14/menu"]


def _queries(app, client, path) -> int:
    """Statements a page sends, as tests/budget counts them (no BEGIN or COMMIT)."""
    from sqlalchemy import event

    statements = []

    def note(conn, cursor, statement, *_args):
        if not TRANSACTION.match(statement):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    app.config["PAGE_CACHE"] = False  # the page's own statements (see tests/budget/conftest.py)
    try:
        assert client.get(path).status_code == 200, path
    finally:
        event.remove(engine, "before_cursor_execute", note)
        app.config["PAGE_CACHE"] = True
    return len(statements)


def _queries_on_meal_pages(app) -> dict[tuple[str, str], int]:
    """Statements each demo meal page sends, for Ada (host of the cooked and
    the past meal) and Elif (a member coming to them)."""
    counts = {}
    for who in ("ada", "elif"):
        client = app.test_client()
        assert login(client, email=f"{who}@example.org", password="bring-a-dish-and-a-friend").status_code == 303
        for path in MEAL_PAGES:
            if who == "elif" and path.endswith("/menu"):
                continue  # the cook's page
            counts[(who, path)] = _queries(app, client, path)
    return counts


def test_the_demo_meal_pages_take_as_many_queries_at_ten_times_the_data(app):
    """What tests/budget checks on one page per route, here on every demo meal
    page: the same statements at scale 1 and 10 (more parties, a waitlist,
    dishes, dietary counts, expenses and shares), within the budget."""
    with app.test_request_context():
        seed_demo(1)
        db.session.remove()
    small = _queries_on_meal_pages(app)
    _empty(app)
    with app.test_request_context():
        seed_demo(10)
        figures = _meal_figures()
        db.session.remove()
    assert figures["Courtyard potluck"][1] > 0 and figures["Soup night"][4] > 30  # a waitlist; 40 shares
    large = _queries_on_meal_pages(app)
    print("queries on the meal pages, scale 1 and 10:", small, large)
    assert small == large
    assert max(large.values()) <= QUERY_BUDGET


def _empty(app):
    from sqlalchemy import text

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
