from django.apps import AppConfig


class TestProjectConfig(AppConfig):
    name = "djangoproject"
    default = True

    def ready(self):
        from tiercache.django import connect_models
        connect_models()
