"""clappemu: the Clappform API emulator used by the clappfs tests (entry point: ../emulator.py)."""
