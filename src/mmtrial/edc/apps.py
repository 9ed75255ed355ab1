from django.apps import AppConfig


class EdcConfig(AppConfig):
    name = "mmtrial.edc"
    label = "edc"
    verbose_name = "Study data (EDC)"
