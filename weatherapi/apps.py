from django.apps import AppConfig


class WeatherApiConfig(AppConfig):
    name = "weatherapi"
    verbose_name = "Weather API"
