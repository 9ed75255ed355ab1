from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mmtrial.web"
    label = "web"
    verbose_name = "Web interface"
