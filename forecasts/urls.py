from django.urls import path

from forecasts import views

urlpatterns = [
    path("weather/current", views.CurrentWeatherView.as_view(), name="weather-current"),
    path("weather/forecast", views.ForecastView.as_view(), name="weather-forecast"),
    path("geocode", views.GeocodeView.as_view(), name="geocode"),
    path("geocode/reverse", views.ReverseGeocodeView.as_view(), name="geocode-reverse"),
    path("air-quality", views.AirQualityView.as_view(), name="air-quality"),
]
