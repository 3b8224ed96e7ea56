import os
import sys

port, database = sys.argv[1], sys.argv[2]
os.environ["DJANGO_SETTINGS_MODULE"] = "lab_portal.tests.oidc_provider.settings"
os.environ["PROVIDER_PORT"] = port
os.environ["PROVIDER_DATABASE"] = database

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402

django.setup()
call_command("migrate", run_syncdb=True, verbosity=0)
call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, skip_checks=True)
