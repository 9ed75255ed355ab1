"""Thin views: parse, call one service or selector, render."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mmtrial.protocol import load_protocol


def home(request: HttpRequest) -> HttpResponse:
    protocol = load_protocol()
    return render(request, "web/home.html", {"identification": protocol.identification})
