"""Board support for ESP32_GENERIC: the network is the Wi-Fi station, brought up with
the credentials in the board's ``secrets.py`` (see microproto_port.wlan)."""

from microproto_port.wlan import network_up  # noqa: F401

NAME = "ESP32_GENERIC"
HEAP_BUDGET = 65536  # what the library plans to fit in
