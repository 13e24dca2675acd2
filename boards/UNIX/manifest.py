# Freeze microproto into a unix-port build (MicroPython manifest format):
#   make -C ports/unix FROZEN_MANIFEST=/path/to/microproto/boards/UNIX/manifest.py
# Relative paths are relative to this file.
include("$(PORT_DIR)/variants/manifest.py")
package("microproto", base_path="../../lib")
package("microproto_port", base_path="../../ports/micropython")
module("board.py")
