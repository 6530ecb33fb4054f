"""gunicorn entry point: `gunicorn -c frontends/flask_app/gunicorn.conf.py frontends.flask_app.wsgi:app`."""

from frontends.flask_app import create_app

app = create_app()
