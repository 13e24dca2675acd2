"""Wi-Fi station bring-up for boards with ``network.WLAN`` (ESP32, Pico W).

Credentials come from ``secrets.py`` on the board, a file the user writes
and deploys (git-ignored, never committed)::

    WIFI_SSID = "my network"
    WIFI_PASSWORD = "..."
"""


def network_up(timeout_ms=15000):
    """Connect the Wi-Fi station (if not yet) and return its IPv4 address.

    Raises OSError when the credentials are missing or the link does not
    come up within ``timeout_ms``.
    """
    import network
    import time

    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        try:
            import secrets
        except ImportError:
            raise OSError("no secrets.py with WIFI_SSID/WIFI_PASSWORD on the board")
        sta.connect(secrets.WIFI_SSID, secrets.WIFI_PASSWORD)
        t0 = time.ticks_ms()
        while not sta.isconnected():
            if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
                raise OSError("Wi-Fi did not connect within %d ms" % timeout_ms)
            time.sleep_ms(100)
    return sta.ifconfig()[0]
