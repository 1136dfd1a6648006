"""Test-only routes that raise on purpose, mounted beside the real ones."""

from django.db import OperationalError
from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.errors import DomainError
from config.api.serializers import StrictSerializer


class EchoInput(StrictSerializer):
    name = serializers.CharField(max_length=20)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)


class EchoApi(APIView):
    def post(self, request):
        data = EchoInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"name": data.validated_data["name"]})


class BoomApi(APIView):
    def get(self, request):
        raise RuntimeError("boom")


class DatabaseDownApi(APIView):
    def get(self, request):
        raise OperationalError("connection refused")


class OutOfStock(DomainError):
    status_code = 409
    code = "insufficient_stock"


class DomainErrorApi(APIView):
    def get(self, request):
        raise OutOfStock("Not enough stock.", product_id=7)


urlpatterns = [
    path("api/test/echo/", EchoApi.as_view()),
    path("api/test/boom/", BoomApi.as_view()),
    path("api/test/db-down/", DatabaseDownApi.as_view()),
    path("api/test/domain/", DomainErrorApi.as_view()),
    path("", include("config.urls")),
]
