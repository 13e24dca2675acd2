# Freeze microproto into a firmware build (MicroPython manifest format):
#   make BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/microproto/boards/RPI_PICO_W/manifest.py
# Relative paths are relative to this file.
include("$(PORT_DIR)/boards/manifest.py")
package("microproto", base_path="../../lib")
package("microproto_port", base_path="../../ports/micropython")
module("board.py")
