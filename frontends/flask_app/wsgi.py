"""gunicorn entry point (`frontends.flask_app.wsgi:app`, see gunicorn.conf.py beside it)."""

from frontends.flask_app import create_app

app = create_app()
