from django.apps import AppConfig


class EdcConfig(AppConfig):
    name = "mmtrial.edc"
    label = "edc"
    verbose_name = "Study data (EDC)"

    def ready(self) -> None:
        # Imported for their side effects: security-log signal receivers, system checks.
        from mmtrial.edc import checks, security  # noqa: F401
