"""The ceiling: a bare Flask app answering "hello", served by the same gunicorn
settings as the app (bench/run.py). A page's share of its requests/s says how
much of the machine the page's own work takes."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
