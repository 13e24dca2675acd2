# Freeze microproto into a firmware build (MicroPython manifest format):
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/microproto/boards/ESP32_GENERIC/manifest.py
# Relative paths are relative to this file.
include("$(PORT_DIR)/boards/manifest.py")
package("microproto", base_path="../../lib")
package("microproto_port", base_path="../../ports/micropython")
module("board.py")
