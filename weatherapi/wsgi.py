import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weatherapi.settings")
django.setup(set_prefix=False)

from weatherapi.handlers import RoutedWSGIApplication  # noqa: E402 - after django.setup()

# The API and the probes skip the browser middleware (weatherapi/handlers.py).
application = RoutedWSGIApplication()
