from django.urls import path

from licensing import views

urlpatterns = [
    path("licences/", views.licences, name="licences"),
    path("licences/offline/", views.offline_activation, name="offline_activation"),
    path("licences/activations/<int:pk>/deactivate/", views.activation_deactivate_view, name="activation_deactivate"),
    path("licences/public-key.pem", views.public_key, name="licence_public_key_pem"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
