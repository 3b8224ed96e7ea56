"""A real OpenID Connect provider for the tests: django-oauth-toolkit in its own process.

`python -m lab_portal.tests.oidc_provider PORT DATABASE` serves it on 127.0.0.1:PORT with its
own SQLite database and a fresh RSA key. Tests arrange it through /control/ (people, the
portal's client registration, how it misbehaves), never by reaching into its database.
"""
