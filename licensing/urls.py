from django.urls import path

from licensing import views

urlpatterns = [
    path("licences/", views.licences, name="licences"),
    path("licences/offline/", views.offline_activation, name="offline_activation"),
    path("licences/activations/<int:pk>/deactivate/", views.activation_deactivate_view, name="activation_deactivate"),
    path("licences/public-key.pem", views.public_key, name="licence_public_key_pem"),
]
