"""The placeholder for "the product" (`/app/`): the page that billing locks."""

from django.shortcuts import render

from accounts.decorators import product_required


@product_required
def app_home(request):
    return render(request, "app/home.html")
