"""Hardware adapters: input devices and the vending output (none, command, GPIO)."""
