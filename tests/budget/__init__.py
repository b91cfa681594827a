"""Budget tests: page weight, static files, SQL queries and first visits,
measured on the demo served by gunicorn at scale 1 and scale 10."""
