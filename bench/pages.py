"""The pages both `make bench` and `make lighthouse` measure, on the demo data
(seed_demo at bench scale: Elm Street with about 150 members).

One line per page: (name, path, signed_in). Signed-in pages are fetched as
ada@example.org, a member and steward of Elm Street; signed-out ones with no
cookie. When an area adds a page (gatherings, things, posts), add its line here.
"""

SCALE = 38  # seed_demo(scale): Elm Street gets about 150 members
USER = "ada@example.org"

PAGES = [
    ("home", "/", True),
    ("circle overview", "/c/elm-street/", True),
    ("members", "/c/elm-street/members", True),
    ("log", "/c/elm-street/log", True),
    ("sign in", "/auth/login", False),
    ("library", "/c/elm-street/library", True),
    ("a thing", "/c/elm-street/library/1", True),
    ("my things", "/lending/mine", True),
    # Talk: the demo's first discussion has 200 more replies at bench scale
    # (pages of 50: this is the page of the first unread reply), and an open proposal.
    ("discussions", "/c/elm-street/talk", True),
    ("discussion, 200 replies", "/c/elm-street/talk/1?page=3", True),
    ("proposal", "/c/elm-street/proposals/1", True),
    ("notices", "/notices", True),
    ("notice settings", "/notices/settings", True),
    # The demo's meals (app/meals/demo.py), made right after Elm Street's gatherings:
    # tests/test_meals_demo.py checks that these ids are theirs.
    ("meal", "/c/elm-street/gatherings/14", True),
    ("potluck", "/c/elm-street/meals/13/potluck", True),
]
